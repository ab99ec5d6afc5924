// A small graphql-transport-ws client for one subscription at a time: connects with the
// session's token in connection_init, reconnects with backoff, and tells the caller when it
// (re)connected so it can fetch what it missed.
import { accessToken } from "./api.js";
import { currentSession } from "./session.js";

const PROTOCOL = "graphql-transport-ws";
const MAX_BACKOFF_MS = 30_000;
// Less than api.js's refresh margin, so the reconnection gets a refreshed token.
const RENEW_MARGIN_MS = 30_000;

export function subscribe(query, { onData, onConnected, onDisconnected }) {
  let socket = null;
  let stopped = false;
  let backoff = 1000;
  let timer = null;
  let renew = null;

  function retry() {
    timer = setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  }

  async function connect() {
    let token;
    try {
      token = await accessToken();
    } catch {
      if (!stopped) retry(); // the session could not be refreshed just now
      return;
    }
    if (stopped || !token) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/graphql`, PROTOCOL);
    socket.binaryType = "arraybuffer"; // the server may send its JSON in binary frames
    socket.onopen = () => send({ type: "connection_init", payload: { Authorization: `Bearer ${token}` } });
    socket.onmessage = (event) => {
      const text = typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data);
      const message = JSON.parse(text);
      if (message.type === "connection_ack") {
        backoff = 1000;
        send({ id: "1", type: "subscribe", payload: { query } });
        onConnected?.();
        // The server ends a subscription whose token expired: reconnect, with a fresh
        // token, a little before that.
        const left = (currentSession()?.expiresAt ?? 0) - Date.now() - RENEW_MARGIN_MS;
        if (left > 0) renew = setTimeout(() => socket?.close(), left);
      } else if (message.type === "next") {
        onData(message.payload.data);
      } else if (message.type === "ping") {
        send({ type: "pong" });
      } else if (message.type === "error" || message.type === "complete") {
        socket.close(); // ended by the server (token expired, fell behind): start again
      }
    };
    socket.onclose = () => {
      socket = null;
      clearTimeout(renew);
      onDisconnected?.();
      if (!stopped) retry();
    };
  }

  function send(message) {
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    clearTimeout(renew);
    if (socket) {
      send({ id: "1", type: "complete" });
      socket.close(1000);
    }
  };
}
