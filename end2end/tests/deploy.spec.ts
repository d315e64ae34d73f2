import { createApp, env, expect, login, openTab, sfx, test, waitInteractive } from './helpers';

/** The app this file deploys (one per width: see playwright.config.ts). */
const hello = () => `e2e-hello${sfx()}`;

test('a wrong password shows an error on the login page', async ({ page }) => {
  await page.goto('/login');
  await page.getByTestId('email').fill(env.email);
  await page.getByTestId('password').fill('not-the-password');
  await page.getByTestId('submit').click();
  await expect(page).toHaveURL(/\/login\?error=/);
  await expect(page.getByTestId('error')).toContainText(/wrong email or password/i);
});

test('anonymous visitors are sent to the login page', async ({ page }) => {
  const res = await page.request.get('/', { maxRedirects: 0, headers: { Accept: 'text/html' } });
  expect(res.status()).toBe(302);
  expect(res.headers()['location']).toBe('/login');
  await page.goto('/apps/new');
  await expect(page).toHaveURL(/\/login\?next=\/apps\/new$/);
  await expect(page).toHaveTitle('Log in · Rhone');
  // after logging in they land on the page they asked for, and /login then leads to the dashboard
  await page.getByTestId('email').fill(env.email);
  await page.getByTestId('password').fill(env.password);
  await page.getByTestId('submit').click();
  await expect(page).toHaveURL(/\/apps\/new$/);
  await expect(page).toHaveTitle('New app · Rhone');
  await page.goto('/login');
  await expect(page).toHaveURL(/\/$/);
  await expect(page).toHaveTitle('Apps · Rhone');
});

test('an unknown page is a styled 404 with the way back', async ({ page }) => {
  const res = await page.goto('/no/such/page');
  expect(res?.status()).toBe(404);
  await expect(page.getByTestId('not-found')).toContainText('This page does not exist');
  await expect(page).toHaveTitle('Not found · Rhone');
});

test('the one-time setup page is gone once an account exists', async ({ page }) => {
  await page.goto('/setup');
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByTestId('setup-form')).toHaveCount(0);
});

test.describe.serial('deploying', () => {
    test('an app is created, deployed with a live build log, and served through the proxy', async ({ page, context }) => {
    await login(page);
    await createApp(page, `E2E Hello${sfx()}`, hello());
    const liveUrl = `http://${hello()}.localhost:${env.proxyPort}`;
    await expect(page.getByTestId('live-url')).toHaveAttribute('href', liveUrl);
    await expect(page.getByTestId('no-deployments')).toBeVisible();

    await page.getByTestId('deploy-button').click();
    // while it runs: the stages with the current one, and a running timer
    const progress = page.locator('[data-testid^="deployment-row-"]').first().getByTestId('deployment-progress');
    await expect(progress).toHaveAttribute('data-stage', /^(queued|clone|build|start|health_check|switch)$/);
    await expect(progress.getByTestId('deployment-timer')).toHaveText(/^\d/);
    const buildLog = page.getByTestId('build-log');
    await expect(buildLog).toContainText('detected', { timeout: 60_000 });
    // Lines arrive while the build runs, not only once it is over.
    await expect(buildLog).not.toContainText('health check passed');
    await expect(buildLog).toContainText('$ python3 -m venv');
    await expect(buildLog).toContainText('health check passed', { timeout: 90_000 });
    // the log follows the pipeline to its end: past the switch, through the old version's drain and
    // the new one's watch (`switch_watch_secs`, 5 s here)
    await expect(page.getByTestId('build-log-state')).toHaveText('finished: live', { timeout: 30_000 });

    const newest = page.locator('[data-testid^="deployment-row-"]').first();
    await expect(newest).toHaveAttribute('data-status', 'live', { timeout: 30_000 });
    await expect(newest.getByTestId('rollback')).toHaveCount(0);
    await expect(newest.getByTestId('deployment-progress')).toHaveCount(0);
    await expect(newest.getByTestId('release')).toHaveText('v1');
    await expect(newest.getByTestId('cancel-deployment')).toHaveCount(0);
    await expect(page.getByTestId('header-release')).toContainText('v1');
    await openTab(page, 'logs');
    const runtimeLog = page.getByTestId('runtime-log');
    await expect(runtimeLog).toContainText('e2e app listening on 127.0.0.1');
    await expect(runtimeLog).toContainText('burst 7999');
    expect(await runtimeLog.locator('div').count()).toBeLessThanOrEqual(5000);
    // each line has its time and release; the filter hides the others; scrolling up stops following
    await expect(runtimeLog.locator('div > span').first()).toHaveText(/^\d\d:\d\d:\d\d$/);
    // …and the release it came from
    await expect(runtimeLog.locator('div', { hasText: 'burst 7999' }).locator('[data-release]').first()).toHaveText('v1');
    await page.getByTestId('runtime-log-filter').fill('BURST 7999');
    await expect(runtimeLog.locator('div:visible')).toHaveCount(1);
    await page.getByTestId('runtime-log-filter').fill('');
    await runtimeLog.evaluate((el) => { el.scrollTop = 0; });
    await expect(page.getByTestId('runtime-log-jump')).toBeVisible();
    await page.getByTestId('runtime-log-jump').click();
    await expect(page.getByTestId('runtime-log-jump')).toHaveCount(0);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('runtime-log-download').click()]);
    expect(download.suggestedFilename()).toBe('runtime-log.log');

    const visitor = await context.newPage();
    await visitor.goto(`${liveUrl}/`);
    await expect(visitor.locator('body')).toContainText('hello from e2e');
    await visitor.close();
    await expect(runtimeLog).toContainText('"GET / HTTP/1.1" 200');

    await page.getByTestId('nav-apps').click();
    await expect(page.getByTestId(`app-state-${hello()}`)).toHaveAttribute('data-status', 'running');
    await expect(page.getByTestId(`app-release-${hello()}`)).toContainText('v1');
  });

  test('a deploy can be cancelled, and a rollback brings an earlier build back', async ({ page }) => {
    page.on('dialog', (d) => d.accept());
    await login(page);
    await page.getByTestId(`app-link-${hello()}`).click();
    await waitInteractive(page);
    await openTab(page, 'deployments');
    const rows = page.locator('[data-testid^="deployment-row-"]');
    await expect(rows).toHaveCount(1);

    await page.getByTestId('deploy-button').click();
    await expect(rows).toHaveCount(2);
    await rows.first().getByTestId('cancel-deployment').click();
    await expect(rows.first()).toHaveAttribute('data-status', 'cancelled');
    await expect(page.getByTestId('build-log-state')).toHaveText('finished: cancelled');

    await page.getByTestId('deploy-button').click();
    await expect(rows).toHaveCount(3);
    await expect(rows.first()).toHaveAttribute('data-status', 'live', { timeout: 90_000 });
    const firstBuild = rows.last();
    await expect(firstBuild).toHaveAttribute('data-status', 'superseded');
    const firstId = (await firstBuild.getAttribute('data-testid'))?.replace('deployment-row-', '');
    await firstBuild.getByTestId('rollback').click();
    await expect(rows).toHaveCount(4);
    await expect(rows.first()).toContainText(`rollback to the build of #${firstId}`);
    await expect(rows.first()).toHaveAttribute('data-status', 'live', { timeout: 60_000 });
    await expect(page.getByTestId('build-log')).toContainText(`rolling back to the build of deployment ${firstId}`);
  });

  test('the app page restarts, stops and starts the app; the apps list tells its state', async ({ page, context }) => {
    page.on('dialog', (d) => d.accept());
    await login(page);
    await expect(page.getByTestId(`app-state-${hello()}`)).toHaveAttribute('data-status', 'running');
    await expect(page.getByTestId('apps-page')).toHaveAttribute('data-interactive', 'true');
    await page.getByTestId('app-search').fill('nothing-like-it');
    await expect(page.getByTestId('no-match')).toBeVisible();
    await page.getByTestId('app-search').fill('HELLO');
    await expect(page.getByTestId(`app-row-${hello()}`)).toBeVisible();
    await page.getByTestId(`app-link-${hello()}`).click();
    await waitInteractive(page);
    await openTab(page, 'deployments');
    await expect(page).toHaveURL(new RegExp(`/t/[^/]+/apps/${hello()}/deployments$`));
    const rows = page.locator('[data-testid^="deployment-row-"]');
    await expect(rows).toHaveCount(4);

    await page.getByTestId('restart-app').click();
    await expect(rows).toHaveCount(5);
    await expect(rows.first()).toContainText('restart of the build of');
    await expect(rows.first().getByTestId('release')).toHaveText('v5');
    await expect(rows.first()).toHaveAttribute('data-status', 'live', { timeout: 60_000 });

    await page.getByTestId('stop-app').click();
    await expect(page.getByTestId('app-state')).toHaveAttribute('data-state', 'stopped');
    const visitor = await context.newPage();
    const res = await visitor.goto(`http://${hello()}.localhost:${env.proxyPort}/`);
    expect(res?.status()).toBe(503);
    await expect(visitor.locator('body')).toContainText('is stopped');

    await page.getByTestId('start-app').click();
    await expect(rows).toHaveCount(6);
    await expect(rows.first()).toHaveAttribute('data-status', 'live', { timeout: 60_000 });
    await expect(page.getByTestId('app-state')).toHaveAttribute('data-state', 'running', { timeout: 30_000 });
    await visitor.goto(`http://${hello()}.localhost:${env.proxyPort}/`);
    await expect(visitor.locator('body')).toContainText('hello from e2e');
    await visitor.close();
  });
});
