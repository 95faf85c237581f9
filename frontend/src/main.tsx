import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { config } from "./api";
import { liveStore } from "./live";
import "./styles.css";

liveStore.start();
addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") liveStore.retryNow();
});

if ("serviceWorker" in navigator) {
  // The worker reads the CSRF token from here when the browser renews the push subscription.
  void caches
    ?.open("observatory-runtime")
    .then((c) => c.put(`${config.basePath}/__runtime-config`, new Response(JSON.stringify(config))));
  void navigator.serviceWorker.register(`${config.basePath}/sw.js`, { scope: `${config.basePath}/` });
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
