// Live events over the workspace's WebSocket. The API names the socket and hands out a single-use ticket for it
// (POST /api/live/tickets), so the key never goes into a URL and no port is written here. A socket that drops
// is reported through onState and reopened with a fresh ticket, waiting a little longer after each failure.
import { api } from "./api.js";

const RETRY_MS = [1000, 2000, 4000, 8000, 15000];

// Opens the socket and keeps it open while alive() holds (the view that asked is still on the page).
// onEvent(envelope) gets every event frame; onState(state, detail) gets "connecting", "open",
// "retrying" (detail: seconds until the next try) and "failed" (detail: the ApiError that refused a ticket).
export function openLive({ types = [], alive, onEvent, onState }) {
  let socket = null;
  let timer = null;
  let failures = 0;
  let stopped = false;

  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    window.removeEventListener("hashchange", check);
    if (socket) socket.close(1000, "left the page");
  };
  function check() {
    if (!stopped && !alive()) stop();
  }

  function retry() {
    if (stopped || !alive()) return stop();
    const wait = RETRY_MS[Math.min(failures, RETRY_MS.length - 1)];
    failures += 1;
    onState("retrying", Math.round(wait / 1000));
    timer = setTimeout(connect, wait);
  }

  async function connect() {
    if (stopped || !alive()) return stop();
    onState("connecting");
    let issued;
    try {
      issued = await api("/api/live/tickets", { method: "POST" });
    } catch (err) {
      // The API refused (a revoked key, a stage without live events): say so; trying again would not help.
      if (err.status && err.status < 500) return onState("failed", err);
      return retry(); // the API itself is unreachable for now
    }
    if (stopped || !alive()) return stop();
    const url = new URL(issued.url);
    url.searchParams.set("ticket", issued.ticket);
    if (types.length) url.searchParams.set("types", types.join(","));
    socket = new WebSocket(url);
    socket.addEventListener("open", () => {
      failures = 0;
      onState("open");
    });
    socket.addEventListener("message", (message) => {
      if (!alive()) return stop(); // the view was replaced since the last hashchange
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      if (frame && typeof frame.type === "string" && !frame.type.startsWith("live.")) onEvent(frame);
    });
    socket.addEventListener("close", () => {
      socket = null;
      if (!stopped) retry();
    });
  }

  window.addEventListener("hashchange", check);
  connect();
  return { close: stop, get socket() { return socket; } };
}
