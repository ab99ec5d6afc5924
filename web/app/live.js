// A small graphql-transport-ws client for one subscription at a time: connects with the
// session's token in connection_init, reconnects with backoff, and tells the caller when it
// (re)connected so it can fetch what it missed.
import { accessToken } from "./api.js";

const PROTOCOL = "graphql-transport-ws";
const MAX_BACKOFF_MS = 30_000;

export function subscribe(query, { onData, onConnected, onDisconnected }) {
  let socket = null;
  let stopped = false;
  let backoff = 1000;
  let timer = null;

  async function connect() {
    const token = await accessToken();
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
      } else if (message.type === "next") {
        onData(message.payload.data);
      } else if (message.type === "ping") {
        send({ type: "pong" });
      }
    };
    socket.onclose = () => {
      socket = null;
      onDisconnected?.();
      if (stopped) return;
      timer = setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    };
  }

  function send(message) {
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    if (socket) {
      send({ id: "1", type: "complete" });
      socket.close(1000);
    }
  };
}
