import AxeBuilder from '@axe-core/playwright';
import { test as base, expect, Page } from '@playwright/test';

/**
 * `test` whose page fails the test on any uncaught error, Rust panic or Content Security Policy
 * violation in the browser (the dashboard must work under its own CSP).
 */
export const test = base.extend({
  page: async ({ page, baseURL }, use) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && /panicked|hydration error|Content Security Policy/i.test(m.text())) errors.push(m.text());
    });
    await watchCsp(page, (v) => errors.push(`CSP violation: ${v}`));
    // a dashboard page must carry its own policy (with the nonce of its scripts); name the one that
    // does not, with its status and headers (a rare case once served the fallback policy instead)
    page.on('response', (r) => {
      const h = r.headers();
      // (Rhone's pages: not a stand-in's, such as Stripe's Checkout page)
      const ours = baseURL !== undefined && new URL(r.url()).origin === new URL(baseURL).origin;
      const page_html = ours && r.request().resourceType() === 'document' && r.status() === 200 && (h['content-type'] ?? '').startsWith('text/html');
      if (page_html && !(h['content-security-policy'] ?? '').includes("'nonce-")) {
        errors.push(`page ${r.url()} was served without its nonce policy: ${JSON.stringify(h)}`);
      }
    });
    await use(page);
    expect(errors, 'errors in the browser').toEqual([]);
  },
});

/** Reports every `securitypolicyviolation` event of every page the browser loads. */
export async function watchCsp(page: Page, report: (violation: string) => void) {
  await page.exposeFunction('__rhoneCspViolation', report);
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as any).__rhoneCspViolation(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline code'} (${e.sourceFile}:${e.lineNumber})`);
    });
  });
}
export { expect };

/**
 * Tests that run at desktop and phone width (playwright.config.ts) share one Rhone: what they create is
 * named per project (`''` at desktop, `-phone` at phone width).
 */
export const sfx = () => (test.info().project.name === 'desktop' ? '' : `-${test.info().project.name}`);

export const env = {
  email: process.env.ADMIN_EMAIL ?? '',
  password: process.env.ADMIN_PASSWORD ?? '',
  repo: process.env.REPO_PATH ?? '',
  proxyPort: process.env.PROXY_PORT ?? '',
};

export async function login(page: Page) {
  await page.goto('/login');
  await page.getByTestId('email').fill(env.email);
  await page.getByTestId('password').fill(env.password);
  await page.getByTestId('submit').click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId('nav-apps')).toBeVisible();
  await hydrated(page);
}

/**
 * Waits until the page is hydrated (its wasm and lazily loaded page chunks are in). Before that, links
 * and forms work the plain HTML way, and typing does not reach the page's state.
 */
export async function hydrated(page: Page) {
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
}

/** Creates an app from the test repository and waits for its page to be interactive. */
export async function createApp(page: Page, name: string, slug: string) {
  await page.goto('/apps/new');
  await expect(page.getByTestId('new-app-form')).toHaveAttribute('data-interactive', 'true');
  await page.getByTestId('input-name').fill(name);
  await expect(page.getByTestId('input-slug')).toHaveValue(slug);
  await page.getByTestId('input-repo_url').fill(env.repo);
  await page.getByTestId('create-app').click();
  await expect(page).toHaveURL(new RegExp(`/apps/${slug}$`));
  await waitInteractive(page);
}

/** The app page marks itself interactive once hydrated. */
export async function waitInteractive(page: Page) {
  await expect(page.getByTestId('app-page')).toHaveAttribute('data-interactive', 'true');
  await hydrated(page);
}

/** Opens a tab of the app page (its own URL) and waits for it. */
export async function openTab(page: Page, tab: 'overview' | 'deployments' | 'logs' | 'env' | 'settings') {
  await page.getByTestId(`tab-${tab}`).click();
  await expect(page.getByTestId(`tab-${tab}`)).toHaveAttribute('aria-current', 'page');
}

/** Deletes the app whose page is open: the button stays disabled until its slug is typed. */
export async function deleteApp(page: Page, slug: string) {
  await waitInteractive(page);
  await openTab(page, 'settings');
  await expect(page.getByTestId('delete-app')).toBeDisabled();
  await page.getByTestId('delete-confirm').fill(slug.slice(0, -1));
  await expect(page.getByTestId('delete-app')).toBeDisabled();
  await page.getByTestId('delete-confirm').fill(slug);
  await page.getByTestId('delete-app').click();
  await expect(page).toHaveURL(/\/$/);
}

/** No serious or critical accessibility violation on the page as it is now (WCAG 2.1 A/AA rules). */
export async function checkA11y(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
  expect(bad, `${what}: accessibility violations`).toEqual([]);
}
