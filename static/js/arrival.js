// "Arrived": the server records the time; where the phone gives its position, it goes with the tap.
// The form is sent without a position when the browser has no geolocation, the user refuses, or it
// takes more than a few seconds.
(function () {
  "use strict";
  document.querySelectorAll("form[data-geolocate]").forEach(function (form) {
    var sent = false;
    form.addEventListener("submit", function (event) {
      if (sent || !("geolocation" in navigator)) {
        return;
      }
      event.preventDefault();
      var button = form.querySelector("[type=submit]");
      if (button) {
        button.disabled = true;
      }
      var submit = function () {
        sent = true;
        form.submit();
      };
      var timer = window.setTimeout(submit, 6000);
      navigator.geolocation.getCurrentPosition(
        function (position) {
          window.clearTimeout(timer);
          var set = function (name, value) {
            var input = form.querySelector("input[name=" + name + "]");
            if (input) {
              input.value = value;
            }
          };
          set("latitude", position.coords.latitude.toFixed(6));
          set("longitude", position.coords.longitude.toFixed(6));
          set("accuracy", Math.round(position.coords.accuracy));
          submit();
        },
        function () {
          window.clearTimeout(timer);
          submit();
        },
        { enableHighAccuracy: true, timeout: 5000, maximumAge: 60000 }
      );
    });
  });
})();
