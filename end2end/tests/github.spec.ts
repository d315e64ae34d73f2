import { env, expect, hydrated, login, sfx, test, waitInteractive } from './helpers';

/**
 * GitHub from the browser, against the local GitHub of end2end/github_standin.py, in one flow: the
 * owner links GitHub on the account page, signs out, and signs in with GitHub; connects a GitHub
 * account to the team (GitHub's install page sends the browser back with a code Rhone checks), picks
 * the private repository and its branch, creates the app and deploys it (cloned with an
 * installation token).
 */
test('signed in with GitHub, the owner picks a private repository and deploys it', async ({ page, context }) => {
  const slug = `e2e-private${sfx()}`;
  await login(page);
  await page.goto('/account');
  await hydrated(page);
  await page.getByTestId('github-link').click();
  // to GitHub's authorize page and back
  await expect(page).toHaveURL(/\/account\?github=linked$/);
  await expect(page.getByTestId('github-linked')).toContainText('e2e-octo');
  // signed out, GitHub signs the owner back in, to the page asked for
  await context.clearCookies();
  await page.goto('/apps/new');
  await expect(page).toHaveURL(/\/login\?next=\/apps\/new$/);
  await hydrated(page);
  await page.getByTestId('github-sign-in').click();
  await expect(page).toHaveURL(/\/apps\/new$/);
  await hydrated(page);
  await expect(page.getByTestId('new-app-form')).toHaveAttribute('data-interactive', 'true');
  const picker = page.getByTestId('github-picker');
  await expect(picker).toBeVisible();
  await page.getByTestId('github-connect').click();
  // to GitHub and back: the team's new-app page says it worked and lists the repository
  await expect(page).toHaveURL(/\/t\/[^/]+\/apps\/new\?github=connected$/);
  await hydrated(page);
  await expect(page.getByTestId('new-app-form')).toHaveAttribute('data-interactive', 'true');
  await expect(page.getByTestId('github-connected')).toBeVisible();
  await page.getByTestId('github-filter').fill('priv');
  await page.getByTestId('github-repo-octo-org/private').click();
  await expect(page.getByTestId('input-repo_url')).toHaveValue(`${process.env.GITHUB_URL}/octo-org/private.git`);
  await expect(page.getByTestId('github-branch')).toHaveValue('main');
  await expect(page.getByTestId('input-branch')).toHaveValue('main');
  await page.getByTestId('input-name').fill(`E2E Private${sfx()}`);
  await expect(page.getByTestId('input-slug')).toHaveValue(slug);
  // the repository is private: Rhone checks it with the installation's token
  await page.getByTestId('create-app').click();
  await expect(page).toHaveURL(new RegExp(`/apps/${slug}$`));
  await waitInteractive(page);
  await page.getByTestId('deploy-button').click();
  const row = page.locator('[data-testid^="deployment-row-"]').first();
  await expect(row).toHaveAttribute('data-status', 'live', { timeout: 90_000 });
  // the browser resolves *.localhost itself (Node's resolver does not)
  const visitor = await context.newPage();
  await visitor.goto(`http://${slug}.localhost:${env.proxyPort}/`);
  await expect(visitor.locator('body')).toContainText('hello from e2e');
  // for GitLab or Gitea instead: the app's own webhook secret, shown once
  await page.goto(`/apps/${slug}/settings`);
  await waitInteractive(page);
  await page.getByTestId('make-webhook-secret').click();
  await expect(page.getByTestId('webhook-secret-value')).toHaveText(/^[0-9a-f]{64}$/);
  await expect(page.getByTestId('webhook-secret')).toContainText(`/api/v1/webhooks/gitlab/${slug}`);
});

