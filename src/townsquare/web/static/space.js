// Space pages only. Listening: Play uses the browser's own HLS where it has it, else loads hls.js only
// when pressed, and counts the page as a listener while it plays. Speaking: the microphone through
// getUserMedia, encoded to Opus by MediaRecorder, sent over the speaker audio WebSocket, with a level
// meter and mute. The stage (who speaks, listener count, requests) refreshes every few seconds.
(function () {
  "use strict";

  function post(url, body) {
    return fetch(url, {method: "POST", body: body, credentials: "same-origin",
                       headers: {"X-Requested-With": "fetch"}});
  }

  // ---- listening ----
  var audio = document.getElementById("space-audio");
  var play = document.getElementById("space-play");
  var listenerId = null;
  var heartbeat = null;

  function join() {
    var url = audio.getAttribute("data-join");
    if (!url) return;
    var body = new URLSearchParams();
    if (listenerId) body.set("listener_id", listenerId);
    post(url, body).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
      if (!data) return;
      listenerId = data.listener_id;
      if (!heartbeat) heartbeat = setInterval(join, Math.max(1, data.heartbeat_interval || 10) * 1000);
    }).catch(function () {});
  }

  function leave() {
    var url = audio && audio.getAttribute("data-join");
    if (!url || !listenerId) return;
    var body = new URLSearchParams();
    body.set("listener_id", listenerId);
    navigator.sendBeacon(url.replace(/join$/, "leave"), body);
  }

  // hls.js wherever Media Source Extensions play AAC (Chromium, Firefox, desktop Safari: one tested path;
  // Chromium's own HLS claims "maybe" yet fails on live audio-only MPEG-TS); the browser's own HLS only where
  // MSE is missing (iPhone Safari).
  function mseCanPlay() {
    var MS = window.MediaSource || window.ManagedMediaSource;
    return !!(MS && MS.isTypeSupported && MS.isTypeSupported('audio/mp4; codecs="mp4a.40.2"'));
  }

  function startPlaying() {
    var source = audio.getAttribute("data-source");
    play.disabled = true;
    join();
    if (!mseCanPlay() && audio.canPlayType("application/vnd.apple.mpegurl")) {
      audio.src = source;
      audio.controls = true;
      audio.play().catch(function () {});
      return;
    }
    var script = document.createElement("script");
    script.src = audio.getAttribute("data-hls");
    script.onload = function () {
      var hls = new window.Hls({liveSyncDurationCount: 2});
      var retries = 0;
      // A room just started has no playlist until its first segment is out (404 for a second or two), and a
      // network blip is fatal to hls.js: ask again every 2 s for a minute instead of staying silent.
      hls.on(window.Hls.Events.ERROR, function (event, data) {
        if (!data.fatal) return;
        if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) {
          hls.recoverMediaError();
        } else if (data.type === window.Hls.ErrorTypes.NETWORK_ERROR && retries < 30) {
          retries += 1;
          setTimeout(function () { hls.loadSource(source); }, 2000);
        }
      });
      hls.on(window.Hls.Events.MANIFEST_PARSED, function () { retries = 0; });
      hls.loadSource(source);
      hls.attachMedia(audio);
      audio.controls = true;
      audio.play().catch(function () {});
      audio.focus();
    };
    script.onerror = function () { play.disabled = false; };
    document.head.appendChild(script);
  }

  if (audio && play) {
    // With script, nothing is fetched until Play; without it, the audio element plays natively (Safari).
    audio.removeAttribute("src");
    audio.controls = false;
    play.hidden = false;
    play.addEventListener("click", startPlaying);
    window.addEventListener("pagehide", leave);
  }

  // ---- the stage, refreshed ----
  // Not while keyboard focus is on a control inside it (that would lose the focus), unless an action there
  // just finished; focus on the section's heading is carried over to the new heading.
  function busy(stage) {
    var el = document.activeElement;
    return stage.contains(el) && el.id !== "stage-title";
  }

  function refreshStage(force) {
    var stage = document.getElementById("stage");
    var url = stage && stage.getAttribute("data-refresh");
    if (!url || (!force && (document.hidden || busy(stage)))) return Promise.resolve();
    return fetch(url, {credentials: "same-origin", headers: {Accept: "text/html"}}).then(function (r) {
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (!html) return;
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("stage");
      var current = document.getElementById("stage");
      if (!fresh || !current || (!force && busy(current))) return;
      var hadFocus = current.contains(document.activeElement);
      current.replaceWith(fresh);
      hideMicLink();
      if (hadFocus) document.getElementById("stage-title").focus();
    }).catch(function () {});
  }
  // The link to the microphone controls is for a listener just made a speaker; the controls are here already.
  function hideMicLink() {
    if (!document.getElementById("speak")) return;
    var links = document.querySelectorAll("#stage .mic-link");
    for (var i = 0; i < links.length; i++) links[i].remove();
  }
  hideMicLink();
  if (document.querySelector("#stage[data-refresh]")) setInterval(refreshStage, 4000);

  // Stage actions, reactions and invitations go without leaving the page, so a speaker stays on air.
  function announce(form, text) {
    var region = document.getElementById(form.closest("#host-controls") ? "host-status" : "live");
    if (region) region.textContent = text;
  }
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.hasAttribute || !form.hasAttribute("data-inline")) return;
    e.preventDefault();
    var body = new FormData(form);
    if (e.submitter && e.submitter.name) body.append(e.submitter.name, e.submitter.value);
    post(form.action, body).then(function (r) {
      if (r.ok) {
        if (form.querySelector("input[type=text]")) form.reset();
        return r.text().then(function (text) {
          announce(form, text || "Done.");
          return refreshStage(true);
        });
      }
      return r.text().then(function (html) {
        var error = new DOMParser().parseFromString(html, "text/html").querySelector("main .error");
        var text = error ? error.textContent.trim() : "";
        announce(form, text || "That did not work (" + r.status + ").");
      });
    }).catch(function () { announce(form, "The server could not be reached; try again."); });
  });

  // ---- speaking ----
  var speak = document.getElementById("speak");
  if (!speak) return;
  var controls = document.getElementById("speak-controls");
  var startButton = document.getElementById("mic-start");
  var stopButton = document.getElementById("mic-stop");
  var muteForm = document.getElementById("mic-mute-form");
  var muteButton = document.getElementById("mic-mute");
  var meter = document.getElementById("mic-level");
  var statusLine = document.getElementById("mic-status");
  var stream = null, recorder = null, socket = null, context = null, meterTimer = null;
  var muted = muteButton.getAttribute("aria-pressed") === "true";
  controls.hidden = false;

  function say(text) { statusLine.textContent = text; }

  function pickType() {
    var types = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus"];
    for (var i = 0; i < types.length; i++) {
      if (window.MediaRecorder && MediaRecorder.isTypeSupported(types[i])) return types[i];
    }
    return null;
  }

  function applyMute() {
    if (stream) stream.getAudioTracks().forEach(function (t) { t.enabled = !muted; });
    muteButton.setAttribute("aria-pressed", muted ? "true" : "false");
    muteForm.action = muteForm.action.replace(/\/(un)?mute$/, muted ? "/unmute" : "/mute");
  }

  function startMeter() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    context = new Context();
    var analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    context.createMediaStreamSource(stream).connect(analyser);
    var samples = new Float32Array(analyser.fftSize);
    meterTimer = setInterval(function () {
      analyser.getFloatTimeDomainData(samples);
      var sum = 0;
      for (var i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
      var level = muted ? 0 : Math.min(1, Math.sqrt(Math.sqrt(sum / samples.length)));  // root for a perceptual scale
      meter.value = level;
      meter.textContent = Math.round(level * 100) + "%";
    }, 100);
    if (context.state === "suspended") context.resume();
  }

  function stopAll() {
    if (recorder && recorder.state !== "inactive") recorder.stop();
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    if (meterTimer) clearInterval(meterTimer);
    if (context) context.close();
    if (socket && socket.readyState <= 1) socket.close(1000);
    stream = recorder = socket = context = meterTimer = null;
    meter.value = 0;
    meter.textContent = "silent";
    startButton.disabled = false;
    stopButton.disabled = true;
    speak.removeAttribute("data-on-air");
  }

  function openSocket(type) {
    var format = type.indexOf("ogg") >= 0 ? "ogg" : "webm";
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + speak.getAttribute("data-socket") + "?format=" + format);
    socket.onopen = function () {
      recorder = new MediaRecorder(stream, {mimeType: type, audioBitsPerSecond: 48000});
      recorder.ondataavailable = function (e) {
        if (e.data && e.data.size && socket && socket.readyState === 1) socket.send(e.data);
      };
      recorder.start(250);  // a chunk every quarter second keeps the delay short
      speak.setAttribute("data-on-air", "true");
      stopButton.disabled = false;
      say(muted ? "You are connected but muted: unmute to be heard." : "You are on air: everyone listening hears you.");
    };
    socket.onclose = function (e) {
      var wasOpen = speak.hasAttribute("data-on-air");
      stopAll();
      if (e.code === 1008) say("The server did not take your audio: you are not on the stage of this live space.");
      else if (e.reason) say("Stopped: " + e.reason + ".");
      else say(wasOpen ? "Disconnected from the space." : "Could not connect to the space.");
    };
  }

  startButton.addEventListener("click", function () {
    var type = pickType();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !type) {
      say("This browser cannot record Opus audio, so it cannot speak here.");
      return;
    }
    startButton.disabled = true;
    say("Your browser is asking for permission to use the microphone.");
    navigator.mediaDevices.getUserMedia({audio: {echoCancellation: true, noiseSuppression: true, autoGainControl: true}})
      .then(function (got) {
        stream = got;
        applyMute();
        startMeter();
        openSocket(type);
      }, function (err) {
        startButton.disabled = false;
        if (err && err.name === "NotAllowedError") say("Microphone access was refused. Allow it in your browser's site settings, then press Start speaking again.");
        else if (err && err.name === "NotFoundError") say("No microphone was found.");
        else say("The microphone could not be opened" + (err && err.message ? ": " + err.message : "."));
      });
  });

  stopButton.addEventListener("click", function () {
    stopAll();
    say("You stopped speaking.");
    startButton.focus();
  });

  // The mute form works without script too; here it also silences the microphone at once.
  muteForm.addEventListener("submit", function (e) {
    e.preventDefault();
    muted = !muted;
    var body = new FormData(muteForm);
    var action = muteForm.action;
    applyMute();
    post(action, body).then(function (r) {
      if (!r.ok) throw new Error(String(r.status));
      say(muted ? "Muted: nobody hears you." : (stream ? "Unmuted: you are on air." : "Unmuted."));
    }).catch(function () {
      muted = !muted;
      applyMute();
      say("Mute could not be saved; try again.");
    });
  });
})();
