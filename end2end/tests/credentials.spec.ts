import { createApp, deleteApp, expect, login, openTab, test, hydrated } from './helpers';

test.beforeEach(async ({ page }) => {
  page.on('dialog', (d) => d.accept());
  await login(page);
});

test('repository access: a token is never shown again, a deploy key shows only its public key', async ({ page }) => {
  const secret = 'e2e-secret-token-4711';
  await createApp(page, 'Creds Test', 'creds-test');
  await openTab(page, 'settings');
  const card = page.getByTestId('repo-access');
  await expect(card.getByTestId('credential-kind')).toContainText('None');

  await card.getByTestId('access-token').fill(secret);
  await card.getByTestId('save-token').click();
  await expect(card.getByTestId('credential-kind')).toContainText('Access token set (user name x-access-token)');
  await expect(card.getByTestId('access-token')).toHaveValue('');
  await page.reload();
  await hydrated(page);
  await expect(card.getByTestId('credential-kind')).toContainText('Access token set');
  expect(await page.content()).not.toContain(secret);

  await card.getByTestId('generate-deploy-key').click();
  await expect(card.getByTestId('deploy-public-key')).toHaveText(/^ssh-ed25519 \S+ rhone-creds-test$/);
  await expect(card.getByTestId('credential-kind')).toContainText('Deploy key');
  expect(await page.content()).not.toContain('PRIVATE KEY');

  await card.getByTestId('remove-credential').click();
  await expect(card.getByTestId('credential-kind')).toContainText('None');
  await expect(card.getByTestId('deploy-public-key')).toHaveCount(0);

  await deleteApp(page, 'creds-test');
});
