import { defineConfig } from 'vite';

// `vite build dashboard` builds into dist/dashboard, which the coordinator serves at `/` (DashboardModule).
// JSX is compiled by Vite's own transform (automatic runtime); no React plugin is needed
// for a production build.
export default defineConfig({
  base: '/',
  build: { outDir: '../dist/dashboard', emptyOutDir: true },
  oxc: { jsx: { runtime: 'automatic' } },
  // `vite dev` next to a running coordinator on :3000.
  server: { proxy: { '/api': 'http://localhost:3000' } },
});
