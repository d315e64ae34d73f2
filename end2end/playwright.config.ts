import { defineConfig } from '@playwright/test';

// Started by end2end/run.sh, which provides BASE_URL, PROXY_PORT, REPO_PATH and ADMIN_EMAIL/PASSWORD.
export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  workers: 1,
  reporter: 'list',
  timeout: 120_000,
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
