import { Page } from '@playwright/test';
import { createApp, deleteApp, expect, login, openTab, test } from './helpers';

/** Nothing sticks out sideways: the page never scrolls horizontally at this width. */
async function fitsWidth(page: Page, what: string) {
  const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  expect(scroll, `${what} is wider than the screen (${scroll} px in ${width} px)`).toBeLessThanOrEqual(width);
}

// Runs at desktop and phone width (see playwright.config.ts): every page fits the screen and its
// controls can be reached.
test('every page fits the screen and its controls are reachable', async ({ page }, info) => {
  page.on('dialog', (d) => d.accept());
  await login(page);
  for (const id of ['nav-apps', 'nav-builds', 'nav-tokens', 'nav-account', 'logout', 'current-team']) {
    await expect(page.getByTestId(id), id).toBeInViewport();
  }
  const slug = `layout-${info.project.name}`;
  await createApp(page, `Layout ${info.project.name}`, slug);
  for (const id of ['app-state', 'copy-url', 'deploy-now', 'tab-overview', 'tab-settings']) {
    await expect(page.getByTestId(id), id).toBeVisible();
  }
  for (const tab of ['overview', 'deployments', 'logs', 'env', 'settings'] as const) {
    await page.getByTestId(`tab-${tab}`).scrollIntoViewIfNeeded();
    await openTab(page, tab);
    await fitsWidth(page, `the ${tab} tab`);
  }
  for (const path of ['/', '/apps/new', '/teams', '/tokens', '/account', '/builds', '/admin/users', '/no/such/page']) {
    await page.goto(path);
    await expect(page.locator('main')).toBeVisible();
    await fitsWidth(page, path);
  }
  await page.goto(`/apps/${slug}`);
  await deleteApp(page, slug);
});
