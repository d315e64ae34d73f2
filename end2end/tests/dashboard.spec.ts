import { createApp, expect, login, test } from './helpers';

test.beforeEach(async ({ page }) => {
  page.on('dialog', (d) => d.accept());
  await login(page);
});

test('a form error names the field to fix', async ({ page }) => {
  await page.goto('/apps/new');
  await page.getByTestId('input-name').fill('Bad Repo');
  await page.getByTestId('input-repo_url').fill('not a url');
  await page.getByTestId('create-app').click();
  await expect(page.getByTestId('field-error-repo_url')).toBeVisible();
  await expect(page).toHaveURL(/\/apps\/new$/);
});

test('API tokens are shown once and can be revoked', async ({ page }) => {
  await page.getByTestId('nav-tokens').click();
  await page.getByTestId('token-name').fill('ci');
  await page.getByTestId('create-token').click();
  await expect(page.getByTestId('token-secret')).not.toBeEmpty();
  const row = page.locator('[data-testid^="token-row-"]', { hasText: 'ci' });
  await expect(row).toHaveCount(1);
  await row.getByTestId('revoke-token').click();
  await expect(row).toHaveCount(0);
});

test('environment variables are saved masked and can be revealed', async ({ page }) => {
  await createApp(page, 'Env Test', 'env-test');
  const editor = page.getByTestId('env-editor');
  await editor.getByTestId('env-add').click();
  await editor.getByTestId('env-key').last().fill('GREETING');
  await editor.getByTestId('env-value').last().fill('bonjour');
  await editor.getByTestId('env-save').click();
  await expect(editor.getByTestId('env-saved')).toBeVisible();
  await expect(editor.getByTestId('env-value').first()).toHaveValue('********');

  await page.reload();
  await expect(editor.getByTestId('env-key').first()).toHaveValue('GREETING');
  await editor.getByTestId('env-reveal').click();
  await expect(editor.getByTestId('env-value').first()).toHaveValue('bonjour');

  await editor.getByTestId('env-delete').first().click();
  await editor.getByTestId('env-save').click();
  await expect(editor.getByTestId('env-saved')).toBeVisible();
  await expect(editor.getByTestId('env-row')).toHaveCount(0);
  await expect(editor.getByTestId('env-empty')).toBeVisible();

  await page.getByTestId('delete-app').click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId('app-row-env-test')).toHaveCount(0);
});

test('runtime settings are edited on the app page and shown under its name', async ({ page }) => {
  await createApp(page, 'Run Settings', 'run-settings');
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
  await expect(form.getByTestId('input-replicas')).toHaveValue('3');
  await expect(form.getByTestId('input-runtime')).toHaveValue('docker');
  await expect(form.getByTestId('input-sticky_sessions')).toBeChecked();
  await expect(form.getByTestId('input-dockerfile_path')).toHaveValue('deploy/Dockerfile');

  await page.getByTestId('delete-app').click();
  await expect(page).toHaveURL(/\/$/);
});
