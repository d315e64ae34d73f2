import { Browser, Page } from '@playwright/test';
import { env, expect, login, openTab, test, waitInteractive } from './helpers';

/** A page in a browser context of its own (another person, other cookies). */
async function stranger(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ baseURL: process.env.BASE_URL });
  return context.newPage();
}

/** Invites `email` with `role` from the team's members page; returns the link shown once. */
async function invite(page: Page, email: string, role: string): Promise<string> {
  await page.getByTestId('invite-email').fill(email);
  await page.getByTestId('invite-role').selectOption(role);
  const link = page.getByTestId('invite-link');
  // the box shows the previous invitation's link until the new one is issued
  const previous = (await link.count()) > 0 ? await link.textContent() : null;
  await page.getByTestId('invite').click();
  await expect(link).toContainText('/invite/');
  if (previous) await expect(link).not.toHaveText(previous);
  return (await link.textContent()) ?? '';
}

/** Opens an invitation link signed out and creates the invited account. */
async function accept(page: Page, link: string, email: string) {
  await page.goto(link);
  await expect(page.getByTestId('invite-summary')).toContainText('Crew');
  await expect(page.getByText(email)).toBeVisible();
  await page.getByTestId('password').fill('teammate-password');
  await page.getByTestId('accept').click();
  await expect(page).toHaveURL(/\/t\/crew$/);
}

test.describe.serial('teams', () => {
  test('an owner invites a member who deploys, and the owner reads it in the audit log; a viewer cannot deploy', async ({ page, browser }) => {
    await login(page);
    await page.goto('/teams');
    await page.getByTestId('team-name').fill('Crew');
    await page.getByTestId('create-team').click();
    await expect(page).toHaveURL(/\/t\/crew$/);
    await expect(page.getByTestId('apps-title')).toContainText('Crew');

    await page.getByTestId('new-app').click();
    await expect(page).toHaveURL(/\/t\/crew\/apps\/new$/);
    await expect(page.getByTestId('new-app-form')).toHaveAttribute('data-interactive', 'true');
    await page.getByTestId('input-name').fill('Crew App');
    await page.getByTestId('input-repo_url').fill(env.repo);
    await page.getByTestId('create-app').click();
    await expect(page).toHaveURL(/\/t\/crew\/apps\/crew-app$/);
    await expect(page.getByTestId('app-role')).toHaveText('owner');
    const origin = { Origin: process.env.BASE_URL ?? '' };
    const setEnv = await page.request.patch('/api/v1/apps/crew-app/env', { data: { API_KEY: 'crew-secret-value' }, headers: origin });
    expect(setEnv.status()).toBe(200);

    // a client-side navigation from a hydrated page: the invite form then answers in place
    await waitInteractive(page);
    await page.getByTestId('nav-members').click();
    await expect(page).toHaveURL(/\/t\/crew\/members$/);
    await expect(page.getByTestId('member-list')).toContainText(env.email);
    const memberLink = await invite(page, 'mate@example.com', 'member');
    await expect(page.getByTestId('invitation-mate@example.com')).toBeVisible();
    const viewerLink = await invite(page, 'watcher@example.com', 'viewer');

    // the member, in a browser of their own
    const mate = await stranger(browser);
    await accept(mate, memberLink, 'mate@example.com');
    await expect(mate.getByTestId('app-row-crew-app')).toBeVisible();
    await mate.getByTestId('app-link-crew-app').click();
    await expect(mate.getByTestId('app-role')).toHaveText('member');
    await waitInteractive(mate);
    await mate.getByTestId('deploy-button').click();
    await expect(mate.getByTestId('build-log')).toContainText('detected', { timeout: 60_000 });
    // members see the env keys, not their values, and no settings or danger zone
    await expect(mate.getByTestId('tab-settings')).toHaveCount(0);
    await openTab(mate, 'env');
    await expect(mate.getByTestId('env-key')).toHaveValue('API_KEY');
    await expect(mate.getByTestId('env-value')).toHaveValue('********');
    await expect(mate.getByTestId('env-reveal')).toHaveCount(0);
    await expect(mate.getByTestId('env-save')).toBeHidden();
    await expect(mate.getByTestId('delete-app')).toHaveCount(0);
    // the link worked once
    const again = await stranger(browser);
    await again.goto(memberLink);
    await expect(again.getByTestId('invite-gone')).toContainText('already been used');

    // the owner sees who deployed
    await page.goto('/t/crew/audit');
    const deploy = page.locator('[data-testid="audit-entry"][data-action="deploy"]');
    await expect(deploy).toContainText('mate@example.com');
    await expect(deploy).toContainText('crew-app');
    await expect(page.locator('[data-testid="audit-entry"][data-action="join"]').first()).toBeVisible();

    // the viewer sees the app but no Deploy button, and the API refuses them
    const watcher = await stranger(browser);
    await accept(watcher, viewerLink, 'watcher@example.com');
    await watcher.goto('/t/crew/apps/crew-app');
    await expect(watcher.getByTestId('app-role')).toHaveText('viewer');
    await expect(watcher.getByTestId('deployments')).toBeVisible();
    await expect(watcher.getByTestId('deploy-button')).toHaveCount(0);
    await expect(watcher.getByTestId('deploy-now')).toHaveCount(0);
    await expect(watcher.getByTestId('tab-env')).toHaveCount(0);
    await expect(watcher.getByTestId('nav-audit')).toHaveCount(0);
    const deployed = await watcher.request.post('/api/v1/apps/crew-app/deployments', { headers: origin });
    expect(deployed.status()).toBe(403);
    const revealed = await watcher.request.get('/api/v1/apps/crew-app/env?reveal=1');
    expect(revealed.status()).toBe(403);
    // the owner's personal team is not theirs: it does not exist for them
    const teams = await (await page.request.get('/api/v1/teams')).json();
    const personal = teams.find((t: { personal: boolean }) => t.personal).slug;
    expect((await watcher.request.get(`/api/v1/teams/${personal}`)).status()).toBe(404);
    expect((await watcher.request.get(`/api/v1/teams/${personal}/audit`)).status()).toBe(404);
  });
});
