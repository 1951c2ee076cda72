// A signature pad on a <canvas>: pointer events cover mouse, pen and touch.
// On submit the drawing goes into the hidden field as a PNG data URL.
(function () {
  "use strict";

  function setUp(pad) {
    const canvas = pad.querySelector("[data-signature-canvas]");
    const input = document.getElementById(pad.dataset.signaturePad);
    const clear = pad.querySelector("[data-signature-clear]");
    if (!canvas || !input) {
      return;
    }
    // Set from script, not a style attribute: the CSP forbids inline styles.
    canvas.style.touchAction = "none";
    canvas.style.cursor = "crosshair";
    const ctx = canvas.getContext("2d");
    ctx.lineWidth = 3;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#111";
    let drawing = false;
    let drawn = false;
    let last = null;

    function point(event) {
      const rect = canvas.getBoundingClientRect();
      return {
        x: (event.clientX - rect.left) * (canvas.width / rect.width),
        y: (event.clientY - rect.top) * (canvas.height / rect.height),
      };
    }

    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      drawing = true;
      last = point(event);
      canvas.setPointerCapture(event.pointerId);
      ctx.beginPath();
      ctx.arc(last.x, last.y, ctx.lineWidth / 2, 0, Math.PI * 2);
      ctx.fillStyle = ctx.strokeStyle;
      ctx.fill();
      drawn = true;
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) {
        return;
      }
      event.preventDefault();
      const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
      for (const e of events.length ? events : [event]) {
        const p = point(e);
        ctx.beginPath();
        ctx.moveTo(last.x, last.y);
        ctx.lineTo(p.x, p.y);
        ctx.stroke();
        last = p;
      }
      drawn = true;
    });
    function stop(event) {
      if (drawing && canvas.hasPointerCapture(event.pointerId)) {
        canvas.releasePointerCapture(event.pointerId);
      }
      drawing = false;
      if (drawn) {
        input.value = canvas.toDataURL("image/png");
      }
    }
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
    canvas.addEventListener("pointerleave", function (event) {
      if (drawing) {
        stop(event);
      }
    });
    if (clear) {
      clear.addEventListener("click", function () {
        ctx.clearRect(0, 0, canvas.width, canvas.height);
        drawn = false;
        input.value = "";
      });
    }
    const form = canvas.closest("form");
    if (form) {
      form.addEventListener("submit", function () {
        input.value = drawn ? canvas.toDataURL("image/png") : "";
      });
    }
  }

  document.querySelectorAll("[data-signature-pad]").forEach(setUp);
})();
