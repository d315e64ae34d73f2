import { createApp, expect, login, openTab, sfx, test, waitInteractive } from './helpers';

/**
 * A custom domain from the settings page, against the DNS server of end2end/run.sh
 * (pebble-challtestsrv): added, told which record is missing, verified once the TXT record exists,
 * removed.
 */
test('a custom domain is added, checked until its TXT record exists, and removed', async ({ page }) => {
  const slug = `shop-domains${sfx()}`;
  const domain = `shop${sfx()}.e2e.example`;
  await login(page);
  await createApp(page, `Shop Domains${sfx()}`, slug);
  await openTab(page, 'settings');
  const panel = page.getByTestId('domains');
  await expect(panel.getByTestId('no-domains')).toBeVisible();
  await panel.getByTestId('domain-input').fill(domain.toUpperCase());
  await panel.getByTestId('add-domain').click();
  const row = panel.getByTestId(`domain-${domain}`);
  await expect(row.getByTestId('domain-status')).toHaveText('not verified');
  const txt = row.getByTestId('record-TXT');
  await expect(txt).toContainText(`_rhone-challenge.${domain}`);
  const value = (await txt.locator('td').nth(2).textContent())?.trim() ?? '';
  expect(value).toMatch(/^rhone-verify=/);

  // checked before the record exists: says which one is missing
  await row.getByTestId('check-domain').click();
  await expect(panel.getByTestId('domain-check')).toContainText(`no TXT record at _rhone-challenge.${domain}`);
  await expect(row.getByTestId('domain-error')).toContainText('no TXT record');

  // the owner creates it at their DNS provider (here: the test DNS server), then checks again
  const res = await fetch(`${process.env.DNS_MANAGEMENT_URL}/set-txt`, {
    method: 'POST',
    body: JSON.stringify({ host: `_rhone-challenge.${domain}.`, value }),
  });
  expect(res.ok).toBe(true);
  await row.getByTestId('check-domain').click();
  await expect(panel.getByTestId('domain-check')).toContainText(`${domain} is verified`);
  await expect(row.getByTestId('domain-status')).toHaveText('verified');

  // the app's HTTPS settings: redirect on and HSTS off by default; HSTS turned on stays on
  const https = panel.getByTestId('https-settings');
  await expect(https.getByTestId('https-redirect')).toBeChecked();
  await expect(https.getByTestId('https-hsts')).not.toBeChecked();
  await https.getByTestId('https-hsts').check();
  await https.getByTestId('save-https').click();
  await expect(https.getByTestId('save-https')).toBeEnabled();
  await page.reload();
  await waitInteractive(page);
  await expect(page.getByTestId('https-hsts')).toBeChecked();
  await expect(page.getByTestId('https-redirect')).toBeChecked();

  // apex → www: add www, then choose where the apex's visitors go
  const www = `www.${domain}`;
  await panel.getByTestId('domain-input').fill(www);
  await panel.getByTestId('add-domain').click();
  const wwwRow = panel.getByTestId(`domain-${www}`);
  await expect(wwwRow.getByTestId('domain-status')).toHaveText('not verified');
  await row.getByTestId('domain-redirect').selectOption(www);
  await row.getByTestId('save-domain-redirect').click();
  await expect(row.getByTestId('domain-redirects')).toHaveText(`Redirects to ${www} (308, path and query kept)`);
  await page.reload();
  await waitInteractive(page);
  await expect(row.getByTestId('domain-redirect')).toHaveValue(www);
  // a chain is refused with the reason
  await wwwRow.getByTestId('domain-redirect').selectOption(domain);
  await wwwRow.getByTestId('save-domain-redirect').click();
  await expect(panel.getByTestId('error')).toContainText(`${domain} itself redirects to ${www}: redirect to the domain that serves the app`);

  await row.getByTestId('remove-domain').click();
  await expect(row).toHaveCount(0);
  await wwwRow.getByTestId('remove-domain').click();
  await expect(wwwRow).toHaveCount(0);
  await expect(panel.getByTestId('no-domains')).toBeVisible();
});
