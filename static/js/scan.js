/*
 * Scan items: where the browser has BarcodeDetector (Chromium on Android and ChromeOS tablets), a
 * "Scan with camera" button reads a barcode or QR code into the item's field; elsewhere the button
 * stays hidden and the code is typed. A scanned code is put in the field and a change event sent, so
 * it is saved (or kept in the outbox) exactly like a typed one, and the server judges it.
 */
(function () {
  "use strict";

  const supported = "BarcodeDetector" in window && !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  let running = null; // { row, stream, button } while a camera is open

  function reveal(root) {
    if (!supported || !root || typeof root.querySelectorAll !== "function") {
      return;
    }
    root.querySelectorAll("[data-scan-camera]").forEach((button) => {
      button.hidden = false;
    });
  }

  function stop() {
    if (!running) {
      return;
    }
    running.stream.getTracks().forEach((track) => track.stop());
    const video = running.row.querySelector("[data-scan-video]");
    if (video) {
      video.srcObject = null;
      video.hidden = true;
    }
    running.button.textContent = "Scan with camera";
    running = null;
  }

  function deliver(row, code) {
    const input = row.querySelector("input[name='value']");
    stop();
    if (!input) {
      return;
    }
    input.value = code;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  async function watch(row, video, detector, session) {
    while (running === session) {
      try {
        const codes = await detector.detect(video);
        if (running === session && codes.length && codes[0].rawValue) {
          deliver(row, codes[0].rawValue.trim());
          return;
        }
      } catch (error) {
        // A frame not ready yet: try the next one.
      }
      await new Promise((resolve) => requestAnimationFrame(resolve));
    }
  }

  async function start(button) {
    const row = button.closest("[data-scan]");
    const video = row && row.querySelector("[data-scan-video]");
    if (!video) {
      return;
    }
    stop();
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (error) {
      button.textContent = "Camera not available: type the code";
      return;
    }
    const session = { row: row, stream: stream, button: button };
    running = session;
    video.srcObject = stream;
    video.hidden = false;
    button.textContent = "Stop camera";
    await video.play();
    watch(row, video, new window.BarcodeDetector(), session);
  }

  document.addEventListener("click", (evt) => {
    const button = evt.target && evt.target.closest && evt.target.closest("[data-scan-camera]");
    if (!button) {
      return;
    }
    evt.preventDefault();
    if (running && running.button === button) {
      stop();
    } else {
      start(button);
    }
  });

  // Items come back from htmx swaps with their camera button hidden again.
  document.addEventListener("htmx:load", (evt) => reveal(evt.target));
  document.addEventListener("htmx:beforeSwap", (evt) => {
    const target = evt.detail && evt.detail.target;
    if (running && target && target.contains(running.row)) {
      stop(); // the item is about to be replaced: let go of the camera first
    }
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => reveal(document), { once: true });
  } else {
    reveal(document);
  }
})();
