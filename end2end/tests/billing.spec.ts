import { Page } from '@playwright/test';
import { checkA11y, env, expect, hydrated, login, test, waitInteractive } from './helpers';

// The second Rhone of end2end/run.sh: billing on against the Stripe stand-in, its free plan allowing
// one app.
test.use({ baseURL: process.env.BILLED_URL });

/** Creates an app in team `team` from the test repository; `refused` expects the plan to refuse it. */
async function newApp(page: Page, team: string, name: string) {
  await page.goto(`/t/${team}/apps/new`);
  await expect(page.getByTestId('new-app-form')).toHaveAttribute('data-interactive', 'true');
  await page.getByTestId('input-name').fill(name);
  await page.getByTestId('input-repo_url').fill(env.repo);
  await page.getByTestId('create-app').click();
}

test('a team on Free hits a limit, upgrades through Checkout, and can deploy', async ({ page }) => {
  // a team of its own (per attempt: a retry starts on Free again)
  const n = test.info().retry;
  const team = `billed-${n}`;
  await login(page);
  await page.goto('/teams');
  await page.getByTestId('team-name').fill(`Billed ${n}`);
  await page.getByTestId('create-team').click();
  await expect(page).toHaveURL(new RegExp(`/t/${team}$`));
  await newApp(page, team, `B${n} One`);
  await expect(page).toHaveURL(new RegExp(`/t/${team}/apps/b${n}-one$`));

  // a second app is refused, naming the limit, the usage and where to upgrade
  await newApp(page, team, `B${n} Two`);
  const refusal = page.getByTestId('error');
  await expect(refusal).toContainText('the free plan allows 1 apps');
  await expect(refusal).toContainText(`/t/${team}/billing`);
  await expect(page).toHaveURL(new RegExp(`/t/${team}/apps/new$`));

  // the billing page: Free, the apps limit reached, the plans to choose from
  await page.goto(`/t/${team}`);
  await hydrated(page);
  await page.getByTestId('nav-billing').click();
  await expect(page).toHaveURL(new RegExp(`/t/${team}/billing$`));
  await expect(page.getByTestId('plan-name')).toHaveText('free');
  await expect(page.getByTestId('threshold-apps')).toHaveAttribute('data-percent', '100');
  await expect(page.getByTestId('usage-apps').getByTestId('used')).toHaveText('1');
  await expect(page.getByTestId('usage-apps').locator('meter')).toHaveAttribute('value', '100.0');
  await expect(page.getByTestId('projected-total')).toHaveText('$0.00');
  await expect(page.getByTestId('no-invoices')).toBeVisible();
  await expect(page.getByTestId('upgrade-free')).toHaveCount(0);
  await hydrated(page);
  await checkA11y(page, 'billing page');

  // Upgrade: to Stripe's Checkout (the stand-in), pay, and back with the plan changed
  await page.getByTestId('upgrade-starter').click();
  await expect(page).toHaveURL(/\/pay\/cs_e2e_\d+$/);
  await expect(page.getByTestId('checkout-plan')).toHaveText('starter');
  await page.getByTestId('pay').click();
  await expect(page).toHaveURL(new RegExp(`/t/${team}/billing\\?checkout=done$`));
  await expect(page.getByTestId('checkout-back')).toContainText('Payment received');
  await expect(page.getByTestId('plan-name')).toHaveText('starter');
  await expect(page.getByTestId('plan-status')).toHaveText('active');
  await expect(page.getByTestId('threshold-apps')).toHaveCount(0);
  await expect(page.getByTestId('projected-total')).toHaveText('$20.00');
  await expect(page.getByTestId('invoice')).toHaveCount(1);
  await expect(page.getByTestId('invoice-status')).toHaveText('paid');

  // Manage billing: to the Billing Portal and back
  await hydrated(page);
  await page.getByTestId('manage-billing').click();
  await expect(page).toHaveURL(/\/portal\/bps_e2e_\d+$/);
  await page.getByTestId('portal-back').click();
  await expect(page).toHaveURL(new RegExp(`/t/${team}/billing$`));

  // the second app now, deployed to live
  await newApp(page, team, `B${n} Two`);
  await expect(page).toHaveURL(new RegExp(`/t/${team}/apps/b${n}-two$`));
  await waitInteractive(page);
  await page.getByTestId('deploy-button').click();
  const newest = page.locator('[data-testid^="deployment-row-"]').first();
  await expect(newest).toHaveAttribute('data-status', 'live', { timeout: 120_000 });

  // a spend cap at the plan's price is reached at once: the page says deploys are refused
  await page.goto(`/t/${team}/billing`);
  await hydrated(page);
  await expect(page.getByTestId('spend-cap-shown')).toContainText('No cap');
  await page.getByTestId('cap-input').fill('abc');
  await page.getByTestId('cap-save').click();
  await expect(page.getByTestId('spend-cap').getByTestId('error')).toContainText('must be an amount');
  await page.getByTestId('cap-input').fill('20');
  await page.getByTestId('cap-save').click();
  await expect(page.getByTestId('spend-cap-shown')).toContainText('$20.00: once the projected charge reaches it, new deploys are refused.');
  await expect(page.getByTestId('cap-reached')).toBeVisible();
  await page.getByTestId('cap-input').fill('');
  await page.getByTestId('cap-save').click();
  await expect(page.getByTestId('spend-cap-shown')).toContainText('No cap');
  await expect(page.getByTestId('cap-reached')).toHaveCount(0);
});
