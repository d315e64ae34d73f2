import { checkA11y, createApp, deleteApp, expect, hydrated, login, openTab, test, waitInteractive } from './helpers';

for (const [label, size] of [['desktop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]] as const) {
  test(`every page is accessible at ${label} width`, async ({ page, browser }) => {
    await page.setViewportSize(size);
    await page.goto('/login');
    await checkA11y(page, 'login');
    await login(page);
    const slug = `a11y-${label}`;
    await createApp(page, `A11y ${label}`, slug);
    for (const tab of ['overview', 'deployments', 'logs', 'env', 'settings'] as const) {
      await openTab(page, tab);
      await checkA11y(page, `app page, ${tab} tab`);
    }
    for (const path of ['/', '/apps/new', '/teams', '/tokens', '/account', '/builds', '/admin/users', '/no/such/page']) {
      await page.goto(path);
      await expect(page.locator('main')).toBeVisible();
      await checkA11y(page, path);
    }
    // the team's members (with an invitation) and audit log, and the invitation page a guest opens
    await page.goto('/');
    await hydrated(page);
    await page.getByTestId('nav-members').click();
    await hydrated(page);
    await page.getByTestId('invite-email').fill(`a11y-${label}@example.com`);
    await page.getByTestId('invite-role').selectOption('viewer');
    await page.getByTestId('invite').click();
    await expect(page.getByTestId('invite-link')).toContainText('/invite/');
    await checkA11y(page, 'members');
    const link = (await page.getByTestId('invite-link').textContent())?.trim() ?? '';
    const guest = await browser.newContext({ viewport: size });
    const guestPage = await guest.newPage();
    await guestPage.goto(link);
    await expect(guestPage.getByTestId('invite-summary')).toBeVisible();
    await checkA11y(guestPage, 'invitation');
    await guest.close();
    await page.getByTestId('nav-audit').click();
    await expect(page).toHaveURL(/\/audit$/);
    await checkA11y(page, 'audit log');
    await page.getByTestId('nav-billing').click();
    await expect(page.getByTestId('billing-off')).toBeVisible();
    await checkA11y(page, 'billing (off on this installation)');
    await page.goto(`/apps/${slug}`);
    await waitInteractive(page);
    await deleteApp(page, slug);
  });
}
