// The phone page: Verto signalling (verto.js), WebRTC media, live state and transcript.
"use strict";

const AGENT_SPEAKING_LEVEL = 0.02; // RTP audio level (0..1) above which the agent is talking
const ICE_GATHERING_TIMEOUT_MS = 3000;
const TRANSCRIPT_POLL_MS = 500;

const $ = (id) => document.getElementById(id);

const phone = {
  state: "idle",
  callID: null,
  agentSpoke: false,
  turns: [],
  errors: [],
  client: null,
  pc: null,
  dialogParams: null,
  timers: [],
  config: null,
};
window.callbridgePhone = phone;

function setState(state) {
  phone.state = state;
  const label = state.replace("-", " ");
  $("state").textContent = label;
  $("state").dataset.state = state;
  const inCall = ["connecting", "ringing", "listening", "agent-speaking"].includes(state);
  $("hangup").disabled = !inCall;
  $("call").disabled = inCall;
}

function fail(message) {
  phone.errors.push(message);
  $("error").textContent = message;
  setState("failed");
  teardown();
}

async function loadConfig() {
  const response = await fetch("config.json", { cache: "no-store" });
  phone.config = await response.json();
  if (!$("login").value) $("login").value = phone.config.login;
}

function waitForIceGathering(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => resolve();
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") done();
    });
    setTimeout(done, ICE_GATHERING_TIMEOUT_MS);
  });
}

async function startCall(event) {
  event.preventDefault();
  if (phone.client) return;
  $("error").textContent = "";
  $("transcript").replaceChildren();
  phone.turns = [];
  phone.agentSpoke = false;
  setState("connecting");
  try {
    const client = new VertoClient(phone.config.vertoUrl);
    phone.client = client;
    client.onRequest = onServerRequest;
    client.onClose = () => {
      if (phone.client === client && phone.state !== "ended") fail("the connection to the server closed");
    };
    await client.connect();
    await client.login($("login").value, $("password").value);
    const microphone = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      video: false,
    });
    const pc = new RTCPeerConnection({ iceServers: phone.config.iceServers || [] });
    phone.pc = pc;
    microphone.getTracks().forEach((track) => pc.addTrack(track, microphone));
    pc.ontrack = (trackEvent) => {
      $("agent-audio").srcObject = trackEvent.streams[0] || new MediaStream([trackEvent.track]);
    };
    await pc.setLocalDescription(await pc.createOffer());
    await waitForIceGathering(pc);
    phone.callID = crypto.randomUUID();
    const login = $("login").value;
    phone.dialogParams = {
      callID: phone.callID,
      destination_number: phone.config.extension,
      caller_id_name: "Web caller",
      caller_id_number: login.split("@")[0],
      remote_caller_id_name: "Agent",
      remote_caller_id_number: phone.config.extension,
      login,
      useVideo: false,
      useStereo: false,
      screenShare: false,
      dedEnc: false,
      mirrorInput: false,
      userVariables: {},
    };
    await client.invite(phone.dialogParams, pc.localDescription.sdp);
    setState("ringing");
  } catch (error) {
    fail(`call failed: ${error.message}`);
  }
}

async function onServerRequest(method, params) {
  if (!phone.pc || (params.callID && params.callID !== phone.callID)) return;
  if ((method === "verto.media" || method === "verto.answer") && params.sdp) {
    if (phone.pc.signalingState === "have-local-offer") {
      try {
        await phone.pc.setRemoteDescription({ type: "answer", sdp: params.sdp });
      } catch (error) {
        fail(`bad answer from the server: ${error.message}`);
        return;
      }
    }
  }
  if (method === "verto.answer") {
    setState("listening");
    startMonitoring();
  } else if (method === "verto.bye") {
    endCall(params.cause || "NORMAL_CLEARING");
  }
}

function startMonitoring() {
  phone.timers.push(setInterval(updateSpeaking, 100));
  phone.timers.push(setInterval(pollTranscript, TRANSCRIPT_POLL_MS));
}

// The agent's audio level (0..1). The synchronization sources carry one only when the sender adds the
// RTP audio-level header extension (RFC 6464); FreeSWITCH does not (its SDP answer has no extmap), so
// the level of the decoded audio in the receiver's statistics counts too.
async function agentLevel(pc) {
  let level = 0;
  for (const receiver of pc.getReceivers()) {
    for (const source of receiver.getSynchronizationSources()) level = Math.max(level, source.audioLevel || 0);
  }
  (await pc.getStats()).forEach((report) => {
    if (report.type === "inbound-rtp" && report.kind === "audio") level = Math.max(level, report.audioLevel || 0);
  });
  return level;
}

let measuring = false;

async function updateSpeaking() {
  if (measuring || !phone.pc || !["listening", "agent-speaking"].includes(phone.state)) return;
  measuring = true;
  try {
    const level = await agentLevel(phone.pc);
    if (!["listening", "agent-speaking"].includes(phone.state)) return; // ended meanwhile
    if (level > AGENT_SPEAKING_LEVEL) phone.agentSpoke = true;
    setState(level > AGENT_SPEAKING_LEVEL ? "agent-speaking" : "listening");
  } catch (error) {
    // the connection closed while measuring: the call is ending
  } finally {
    measuring = false;
  }
}

async function pollTranscript() {
  if (!phone.callID) return;
  try {
    const response = await fetch(`api/calls/${phone.callID}`, { cache: "no-store" });
    if (response.ok) showTurns((await response.json()).turns || []);
  } catch (error) {
    // the transcript is a convenience: the call goes on without it
  }
}

function showTurns(turns) {
  if (turns.length === phone.turns.length) return;
  phone.turns = turns;
  $("transcript").replaceChildren(
    ...turns.map((turn) => {
      const line = document.createElement("li");
      line.dataset.speaker = turn.speaker;
      line.textContent = turn.text;
      return line;
    }),
  );
  const answered = turns.filter((turn) => turn.speaker === "agent" && turn.timings.voice_to_voice_ms != null);
  if (answered.length) {
    $("latency-ms").textContent = Math.round(answered[answered.length - 1].timings.voice_to_voice_ms);
    $("latency").hidden = false;
  }
}

async function hangUp() {
  if (phone.client && phone.dialogParams) {
    try {
      await phone.client.bye(phone.dialogParams);
    } catch (error) {
      phone.errors.push(`bye: ${error.message}`);
    }
  }
  endCall("NORMAL_CLEARING");
}

function endCall(cause) {
  if (phone.state === "ended") return;
  setState("ended");
  $("error").textContent = cause === "NORMAL_CLEARING" ? "" : `call ended: ${cause}`;
  pollTranscript();
  teardown();
}

function teardown() {
  phone.timers.forEach(clearInterval);
  phone.timers = [];
  if (phone.pc) {
    phone.pc.getSenders().forEach((sender) => sender.track && sender.track.stop());
    phone.pc.close();
  }
  phone.pc = null;
  const client = phone.client;
  phone.client = null;
  if (client) client.close();
}

function sendDigit(event) {
  const digit = event.target.textContent;
  if (event.target.tagName !== "BUTTON" || !phone.client || !phone.dialogParams) return;
  phone.client.info(phone.dialogParams, digit).catch((error) => phone.errors.push(`dtmf: ${error.message}`));
}

$("login-form").addEventListener("submit", startCall);
$("hangup").addEventListener("click", hangUp);
$("keypad").addEventListener("click", sendDigit);
window.addEventListener("beforeunload", () => phone.client && hangUp());
loadConfig().catch((error) => fail(`cannot load config.json: ${error.message}`));
setState("idle");
