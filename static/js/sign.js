// The signing page: the statement of intent shows the title as it is typed in "Your title".
// Without this script the statement shows the title last submitted (the server's copy).
(function () {
  "use strict";
  var input = document.getElementById("id_signer_title");
  var slot = document.querySelector("[data-statement-title]");
  if (!input || !slot) return;
  function update() {
    slot.textContent = input.value.replace(/\s+/g, " ").trim() || slot.getAttribute("data-empty");
  }
  input.addEventListener("input", update);
  update();
})();
