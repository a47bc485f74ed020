import { createRoot } from "react-dom/client";
import { App } from "./App";
import { SessionProvider } from "./session";
import "./styles.css";

// No <StrictMode>: it runs effects twice in development, which would send
// each page's request twice and hide the one-request-per-page property
// that the browser tests count.
const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root");
createRoot(root).render(
  <SessionProvider>
    <App />
  </SessionProvider>,
);
