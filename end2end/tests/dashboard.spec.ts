import { createApp, deleteApp, env, expect, login, openTab, sfx, test, hydrated } from './helpers';

test.beforeEach(async ({ page }) => {
  page.on('dialog', (d) => d.accept());
  await login(page);
});

test('a form error names the field to fix, once, next to it', async ({ page }) => {
  await page.goto('/apps/new');
  await expect(page.getByTestId('new-app-form')).toHaveAttribute('data-interactive', 'true');
  await page.getByTestId('input-name').fill('Bad Repo');
  await page.getByTestId('input-repo_url').fill('not-a-url');
  await page.getByTestId('create-app').click();
  await expect(page.getByTestId('field-error-repo_url')).toContainText(/^Repository URL must be/);
  await expect(page.getByTestId('error')).toHaveCount(0);
  await expect(page.getByText(/must be an https/)).toHaveCount(1);
  await expect(page).toHaveURL(/\/apps\/new$/);

  // a blank name is required; the slug follows the name, transliterated, with a preview
  await page.getByTestId('input-name').fill('   ');
  await page.getByTestId('create-app').click();
  await expect(page.getByTestId('field-error-name')).toHaveText('Name is required');
  await page.getByTestId('input-name').fill('Ünïcödé Äpp');
  await expect(page.getByTestId('input-slug')).toHaveValue('unicode-app');
  await expect(page.getByTestId('slug-preview')).toContainText('unicode-app.localhost');
  // a reserved slug is refused
  await page.getByTestId('input-slug').fill('new');
  await page.getByTestId('input-repo_url').fill(env.repo);
  await page.getByTestId('create-app').click();
  await expect(page.getByTestId('field-error-slug')).toContainText('reserved');
  // a repository that cannot be read: told why, and offered "create anyway"
  await page.getByTestId('input-slug').fill(`anyway-app${sfx()}`);
  await page.getByTestId('input-repo_url').fill('/srv/no-such-repository');
  await page.getByTestId('create-app').click();
  await expect(page.getByTestId('field-error-repo_url')).toContainText('could not be read');
  await page.getByTestId('input-anyway').check();
  await page.getByTestId('create-app').click();
  await expect(page).toHaveURL(new RegExp(`/apps/anyway-app${sfx()}$`));
});

test('API tokens are shown once and can be revoked', async ({ page }) => {
  await page.getByTestId('nav-tokens').click();
  await page.getByTestId('token-name').fill(`ci${sfx()}`);
  await page.getByTestId('create-token').click();
  const secret = (await page.getByTestId('token-secret').textContent()) ?? '';
  expect(secret.length).toBeGreaterThan(20);
  await expect(page.getByTestId('token-curl')).toContainText(`Authorization: Bearer ${secret}`);
  await expect(page.getByTestId('token-curl')).toContainText('/api/v1/apps');
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.getByTestId('copy-token').click();
  await expect(page.getByTestId('copy-token')).toHaveText('Copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
  const row = page.locator('[data-testid^="token-row-"]', { hasText: `ci${sfx()}` });
  await expect(row).toHaveCount(1);
  await row.getByTestId('revoke-token').click();
  await expect(row).toHaveCount(0);
  await expect(page.getByTestId('token-secret')).toHaveCount(0);
  expect(await page.content()).not.toContain(secret);
});

test('environment variables are saved masked and can be revealed', async ({ page }) => {
  await createApp(page, `Env Test${sfx()}`, `env-test${sfx()}`);
  await openTab(page, 'env');
  const editor = page.getByTestId('env-editor');
  await editor.getByTestId('env-add').click();
  await editor.getByTestId('env-key').last().fill('GREETING');
  await editor.getByTestId('env-value').last().fill('bonjour');
  await editor.getByTestId('env-save').click();
  await expect(editor.getByTestId('env-saved')).toBeVisible();
  await expect(editor.getByTestId('env-value').first()).toHaveValue('********');
  await expect(editor.getByTestId('env-value').first()).toHaveAttribute('readonly', '');
  await editor.getByTestId('env-apply-later').click();
  await expect(editor.getByTestId('env-saved')).toHaveCount(0);

  // a key listed twice is refused, not silently overwritten
  await editor.getByTestId('env-add').click();
  await editor.getByTestId('env-key').last().fill('GREETING');
  await editor.getByTestId('env-value').last().fill('hallo');
  await editor.getByTestId('env-save').click();
  await expect(editor.getByTestId('error')).toContainText('GREETING is listed twice');
  await editor.getByTestId('env-delete').last().click();

  // the .env text mode: a duplicate line is refused with its line; the stored masked value is kept
  await editor.getByTestId('env-text-mode').click();
  await expect(editor.getByTestId('env-text')).toHaveValue('GREETING=********\n');
  await editor.getByTestId('env-text').fill('GREETING=********\nFAREWELL="au revoir"\nFAREWELL=bye\n');
  await editor.getByTestId('env-save').click();
  await expect(editor.getByTestId('error')).toContainText('line 3: FAREWELL is already set on line 2');
  await editor.getByTestId('env-text').fill('GREETING=********\nFAREWELL="au revoir"\n');
  await editor.getByTestId('env-save').click();
  await expect(editor.getByTestId('env-saved')).toBeVisible();
  await expect(editor.getByTestId('env-key')).toHaveCount(2);

  await page.reload();
  await hydrated(page);

  await expect(editor.getByTestId('env-key').first()).toHaveValue('FAREWELL');
  await editor.getByTestId('env-reveal').click();
  await expect(editor.getByTestId('env-value').first()).toHaveValue('au revoir');
  await expect(editor.getByTestId('env-value').last()).toHaveValue('bonjour');
  await expect(editor.getByTestId('env-value').last()).not.toHaveAttribute('readonly', '');
  await editor.getByTestId('env-delete').first().click();

  await editor.getByTestId('env-delete').first().click();
  await editor.getByTestId('env-save').click();
  await expect(editor.getByTestId('env-saved')).toBeVisible();
  await expect(editor.getByTestId('env-row')).toHaveCount(0);
  await expect(editor.getByTestId('env-empty')).toBeVisible();

  await deleteApp(page, `env-test${sfx()}`);
  await expect(page.getByTestId(`app-row-env-test${sfx()}`)).toHaveCount(0);
});

test('runtime settings are edited on the app page and shown under its name', async ({ page }) => {
  await createApp(page, `Run Settings${sfx()}`, `run-settings${sfx()}`);
  await openTab(page, 'settings');
  await expect(page.getByTestId('app-runtime')).toHaveText(/^process · 1 replica · no CPU limit/);
  const form = page.getByTestId('settings-form');
  await form.getByTestId('input-replicas').fill('0');
  await form.getByTestId('save-settings').click();
  await expect(form.getByTestId('field-error-replicas')).toBeVisible();

  await form.getByTestId('input-runtime').selectOption('docker');
  await form.getByTestId('input-replicas').fill('3');
  await form.getByTestId('input-cpu_limit').fill('0.5');
  await form.getByTestId('input-memory_limit_mb').fill('256');
  await form.getByTestId('input-sticky_sessions').check();
  await form.getByTestId('input-dockerfile_path').fill('deploy/Dockerfile');
  await form.getByTestId('save-settings').click();
  await expect(page.getByTestId('app-runtime')).toHaveText('docker · 3 replicas · 0.5 CPU · 256 MiB · sticky sessions');

  await page.reload();
  await hydrated(page);

  await expect(form.getByTestId('input-replicas')).toHaveValue('3');
  await expect(form.getByTestId('input-runtime')).toHaveValue('docker');
  await expect(form.getByTestId('input-sticky_sessions')).toBeChecked();
  await expect(form.getByTestId('input-dockerfile_path')).toHaveValue('deploy/Dockerfile');

  await deleteApp(page, `run-settings${sfx()}`);
});

test('an app that does not exist says so and links back to the apps', async ({ page }) => {
  await page.goto('/apps/no-such-app/settings');
  await expect(page.getByTestId('app-missing')).toContainText('not found');
  await page.getByTestId('app-missing').getByRole('link', { name: 'Back to your apps' }).click();
  await expect(page).toHaveURL(/\/$/);
});
