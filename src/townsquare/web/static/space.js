// Space pages: Play uses the browser's own HLS where it has it, else loads hls.js only when pressed.
(function () {
  "use strict";
  var audio = document.getElementById("space-audio");
  var play = document.getElementById("space-play");
  if (!audio || !play) return;
  if (audio.canPlayType("application/vnd.apple.mpegurl")) return; // native HLS: the audio controls suffice
  audio.removeAttribute("src");
  audio.controls = false;
  play.hidden = false;
  play.addEventListener("click", function () {
    play.disabled = true;
    var script = document.createElement("script");
    script.src = audio.getAttribute("data-hls");
    script.onload = function () {
      var hls = new window.Hls();
      hls.loadSource(audio.getAttribute("data-source"));
      hls.attachMedia(audio);
      audio.controls = true;
      audio.play();
      audio.focus();
    };
    document.head.appendChild(script);
  });
})();
