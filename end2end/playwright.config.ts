import { defineConfig } from '@playwright/test';

// Started by end2end/run.sh, which provides BASE_URL, PROXY_PORT, REPO_PATH and ADMIN_EMAIL/PASSWORD.
export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  workers: 1,
  reporter: 'list',
  // One retry: a test that fails, then passes, is reported "flaky" by name (end2end/run.sh prints
  // them at the end) instead of failing the whole run; a test that fails twice fails it.
  retries: 1,
  timeout: 120_000,
  // The dashboard at desktop width (every spec) and at phone width (deploying, logs, restart/stop/start,
  // the forms, tokens, env editor and the layout of every page; a11y.spec.ts checks both widths itself).
  projects: [
    { name: 'desktop', use: { viewport: { width: 1280, height: 800 } } },
    {
      name: 'phone',
      testMatch: /(dashboard|deploy|layout)\.spec\.ts/,
      use: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
    },
  ],
  use: {
    baseURL: process.env.BASE_URL,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
