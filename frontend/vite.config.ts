import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";
import { VitePWA } from "vite-plugin-pwa";
import { icons } from "./icons.ts";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// The service worker source lives in ../service-worker, outside this package: point its bare
// imports at this package's node_modules.
const workbox = ["workbox-core", "workbox-precaching", "workbox-routing"];

export default defineConfig({
  // Relative base: the same build works under any base path the server mounts it at.
  base: "./",
  resolve: { alias: Object.fromEntries(workbox.map((m) => [m, here(`node_modules/${m}`)])) },
  plugins: [
    react(),
    icons(),
    VitePWA({
      strategies: "injectManifest",
      srcDir: "../service-worker",
      filename: "sw.ts",
      injectRegister: false,
      manifestFilename: "manifest.webmanifest",
      manifest: {
        id: "./",
        name: "Agent Observatory",
        short_name: "Observatory",
        description: "Live status, alerts and controls for your AI coding agents.",
        start_url: "./",
        scope: "./",
        display: "standalone",
        orientation: "any",
        background_color: "#0b1020",
        theme_color: "#111827",
        icons: [
          { src: "icons/icon-192.png", sizes: "192x192", type: "image/png", purpose: "any" },
          { src: "icons/icon-512.png", sizes: "512x512", type: "image/png", purpose: "any" },
          { src: "icons/icon-maskable-512.png", sizes: "512x512", type: "image/png", purpose: "maskable" },
        ],
      },
      injectManifest: {
        globPatterns: ["**/*.{js,css,png}"],
        globIgnores: ["sw.js"],
      },
    }),
  ],
  build: {
    outDir: "../observatory/static",
    emptyOutDir: true,
    // No HTML entry: the server renders observatory/templates/index.html from .vite/manifest.json.
    manifest: "build-manifest.json", // not under .vite/: hidden dirs slip out of package data globs
    rolldownOptions: { input: here("src/main.tsx") },
  },
  test: { include: ["src/**/*.test.ts"], environment: "node" },
});
