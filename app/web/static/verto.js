// A minimal Verto (FreeSWITCH mod_verto) JSON-RPC 2.0 client over WebSocket.
// Requests carry a numeric id and resolve with the result (or reject with the error);
// requests from the server (verto.answer, verto.media, verto.bye, ...) are acknowledged
// with {"method": <name>} as their result, as verto.js does, and handed to onRequest.
"use strict";

class VertoClient {
  constructor(url) {
    this.url = url;
    this.sessid = crypto.randomUUID();
    this.nextId = 1;
    this.pending = new Map();
    this.onRequest = () => {};
    this.onClose = () => {};
    this.socket = null;
  }

  connect() {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url);
      this.socket = socket;
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error(`cannot reach ${this.url}`));
      socket.onclose = () => {
        for (const { reject: fail } of this.pending.values()) fail(new Error("connection closed"));
        this.pending.clear();
        this.onClose();
      };
      socket.onmessage = (message) => this.receive(JSON.parse(message.data));
    });
  }

  receive(message) {
    if (message.method) {
      this.send({ jsonrpc: "2.0", id: message.id, result: { method: message.method } });
      this.onRequest(message.method, message.params || {});
      return;
    }
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    if (message.error) waiter.reject(new Error(`${message.error.code}: ${message.error.message}`));
    else waiter.resolve(message.result || {});
  }

  send(message) {
    this.socket.send(JSON.stringify(message));
  }

  call(method, params) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ jsonrpc: "2.0", method, params: { ...params, sessid: this.sessid }, id });
    });
  }

  login(login, passwd) {
    return this.call("login", { login, passwd });
  }

  invite(dialogParams, sdp) {
    return this.call("verto.invite", { dialogParams, sdp });
  }

  info(dialogParams, dtmf) {
    return this.call("verto.info", { dialogParams, dtmf });
  }

  bye(dialogParams) {
    return this.call("verto.bye", { dialogParams, cause: "NORMAL_CLEARING", causeCode: 16 });
  }

  close() {
    if (this.socket) this.socket.close();
  }
}

window.VertoClient = VertoClient;
