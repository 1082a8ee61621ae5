"""The browser client: a static Verto (WebRTC) page and the small server that serves it."""
