// Submission forms with documents (web/templates/actions.html, form[data-upload]): each chosen
// file is sent ahead on its own, with a progress bar, to the page's upload route; the answer is
// the form's ticked box for the document it became, or the refusal in the reader's language
// (413 too large, 415 not an accepted kind), shown beside the field. The form itself then posts
// the documents' ids, not the files. Without this script the form posts the files itself.
(function () {
  "use strict";

  function csrfToken(form) {
    var field = form.querySelector('input[name="csrf_token"]');
    return field ? field.value : "";
  }

  function showError(form, input, message) {
    var error = document.getElementById(input.id + "-error");
    if (!error) return;
    error.textContent = message;
    error.hidden = !message;
    input.closest(".field").classList.toggle("field--error", Boolean(message));
  }

  function uploadOne(form, input, file, list) {
    return new Promise(function (resolve) {
      var item = document.createElement("li");
      var label = document.createElement("span");
      label.textContent = form.dataset.uploading.replace("%(name)s", file.name);
      var bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      bar.setAttribute("aria-label", label.textContent);
      item.appendChild(label);
      item.appendChild(bar);
      list.appendChild(item);
      if (file.size > Number(form.dataset.maxBytes)) {  // refused before a byte is sent
        item.remove();
        showError(form, input, file.name + ": " + form.dataset.tooLarge);
        resolve(false);
        return;
      }
      var body = new FormData();
      body.append("csrf_token", csrfToken(form));
      body.append("step", form.dataset.step);
      body.append("file", file, file.name);
      var request = new XMLHttpRequest();
      request.open("POST", form.dataset.upload);
      request.setRequestHeader("X-CSRF-Token", csrfToken(form));
      request.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) bar.value = Math.round((event.loaded / event.total) * 100);
      });
      request.addEventListener("load", function () {
        if (request.status === 201) {
          item.outerHTML = request.responseText;  // the ticked box naming the new document
          resolve(true);
        } else {
          item.remove();
          var answer = document.createElement("div");
          answer.innerHTML = request.responseText;
          showError(form, input, file.name + ": " + (answer.textContent.trim() || form.dataset.failed));
          resolve(false);
        }
      });
      request.addEventListener("error", function () {
        item.remove();
        showError(form, input, file.name + ": " + form.dataset.failed);
        resolve(false);
      });
      request.send(body);
    });
  }

  function enhance(form) {
    var input = form.querySelector('input[type="file"]');
    var list = form.querySelector("[data-upload-list]");
    var button = form.querySelector('button[type="submit"]');
    if (!input || !list || !window.FormData || !window.XMLHttpRequest) return;
    input.addEventListener("change", function () {
      var files = Array.prototype.slice.call(input.files);
      if (!files.length) return;
      showError(form, input, "");
      if (button) button.disabled = true;
      files.reduce(function (done, file) {
        return done.then(function () { return uploadOne(form, input, file, list); });
      }, Promise.resolve()).then(function () {
        input.value = "";  // the files are documents now: the form names them, it does not send them again
        if (button) button.disabled = false;
      });
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-upload]"), enhance);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
