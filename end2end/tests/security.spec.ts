import { env, expect, hydrated, login, test, watchCsp } from './helpers';

// Every test's page already fails on a CSP violation (see helpers.ts); these check the policy is
// really there and that the hydrated dashboard does its work under it.

test('pages are served with a nonce-based CSP and the dashboard hydrates under it', async ({ page }) => {
  const res = await page.goto('/login');
  const csp = res?.headers()['content-security-policy'] ?? '';
  expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9_-]+' 'wasm-unsafe-eval'/);
  expect(csp).toContain("frame-ancestors 'none'");
  expect(res?.headers()['x-content-type-options']).toBe('nosniff');
  await login(page);
  // a client-side navigation (the router runs in wasm) and a server function call from a hydrated form
  await page.getByTestId('nav-tokens').click();
  await expect(page).toHaveURL(/\/tokens$/);
  await hydrated(page);
  await page.getByTestId('token-name').fill('csp-check');
  await page.getByTestId('create-token').click();
  await expect(page.getByTestId('token-secret')).toContainText('rhone_');
});

test('an inline script injected into a page is blocked by the CSP', async ({ browser }) => {
  // a page of its own: the violation is the expected outcome here, not an error
  const page = await browser.newPage();
  await page.goto('/login');
  const ran = await page.evaluate(async () => {
    (window as any).__injected = false;
    const s = document.createElement('script');
    s.textContent = 'window.__injected = true';
    const blocked = new Promise<string>((resolve) =>
      document.addEventListener('securitypolicyviolation', (e) => resolve(e.effectiveDirective), { once: true }),
    );
    document.body.appendChild(s);
    return { directive: await blocked, ran: (window as any).__injected };
  });
  expect(ran).toEqual({ directive: 'script-src-elem', ran: false });
  await page.close();
});

test('changing the password on the account page logs out the other browsers', async ({ page, browser }) => {
  const other = await browser.newPage();
  const otherErrors: string[] = [];
  await watchCsp(other, (v) => otherErrors.push(v));
  await login(other);
  await login(page);
  await page.getByTestId('nav-account').click();
  await expect(page).toHaveURL(/\/account$/);

  await page.getByTestId('current-password').fill('not-the-password');
  await page.getByTestId('new-password').fill('e2e-new-password');
  await page.getByTestId('change-password').click();
  await expect(page.getByTestId('field-error-current')).toBeVisible();

  const newPassword = 'e2e-new-password';
  await page.getByTestId('current-password').fill(env.password);
  await page.getByTestId('new-password').fill(newPassword);
  await page.getByTestId('change-password').click();
  await expect(page.getByTestId('password-changed')).toBeVisible();

  await other.goto('/tokens');
  await expect(other).toHaveURL(/\/login\?next=\/tokens$/);
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('nav-account')).toBeVisible();

  // put the password back for the other tests
  await page.getByTestId('current-password').fill(newPassword);
  await page.getByTestId('new-password').fill(env.password);
  await page.getByTestId('change-password').click();
  await expect(page.getByTestId('password-changed')).toBeVisible();
  await other.close();
  expect(otherErrors).toEqual([]);
});
