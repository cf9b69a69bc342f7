// Uploads on a collection's page: each chosen or dropped file goes up on its own request
// (XMLHttpRequest, for upload progress), a few at a time, with a <progress> per file and one
// for the whole batch. The server answers each with an HTML line (its status, or why it
// failed), shown as text; the files table then refreshes itself ("ragway-uploaded").
"use strict";

(function () {
  var CONCURRENT = 3;
  var zone = document.querySelector("[data-upload]");
  if (!zone) return;
  var url = zone.getAttribute("data-upload");
  var input = zone.querySelector('input[type="file"]');
  var drop = zone.querySelector("[data-dropzone]");
  var list = zone.querySelector("[data-upload-list]");
  var batchBox = zone.querySelector("[data-upload-batch]");
  var batchBar = batchBox.querySelector("progress");
  var batchText = batchBox.querySelector("[data-upload-total-text]");

  var waiting = [];
  var running = 0;
  var jobs = []; // every upload of the current batch: {size, loaded}

  function showBatch() {
    var size = 0;
    var loaded = 0;
    jobs.forEach(function (job) {
      size += job.size;
      loaded += job.loaded;
    });
    var percent = size ? Math.round((loaded / size) * 100) : 100;
    batchBar.value = percent;
    batchText.textContent = percent + "%";
  }

  // The server's answer (an escaped HTML fragment) as plain text: nothing is parsed into
  // the page, so no markup from a response can run or restyle it.
  function answerText(xhr) {
    var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    return (doc.body.textContent || "").trim();
  }

  function item(file) {
    var li = document.createElement("li");
    var name = document.createElement("span");
    name.className = "name";
    name.textContent = file.name;
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Upload of " + file.name);
    var result = document.createElement("span");
    result.className = "result";
    result.setAttribute("role", "status");
    result.textContent = "waiting";
    li.appendChild(name);
    li.appendChild(bar);
    li.appendChild(result);
    list.appendChild(li);
    return { file: file, li: li, bar: bar, result: result, size: file.size || 1, loaded: 0 };
  }

  function finish(job, ok, text) {
    job.loaded = job.size;
    job.bar.value = 100;
    job.li.setAttribute("data-state", ok ? "done" : "failed");
    job.result.textContent = "";
    var badge = document.createElement("span");
    badge.className = ok ? "badge badge-ok" : "alert alert-error";
    badge.textContent = text;
    job.result.appendChild(badge);
    showBatch();
    running -= 1;
    if (ok) document.body.dispatchEvent(new CustomEvent("ragway-uploaded"));
    pump();
  }

  function send(job) {
    running += 1;
    job.result.textContent = "uploading";
    var form = new FormData();
    form.append("purpose", "assistants");
    form.append("file", job.file, job.file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRF-Token", window.ragwayConsole.csrfToken());
    xhr.setRequestHeader("HX-Request", "true"); // errors come back as a short alert
    xhr.upload.onprogress = function (event) {
      if (!event.lengthComputable) return;
      var fraction = event.total ? event.loaded / event.total : 1;
      job.loaded = Math.min(job.size, fraction * job.size);
      job.bar.value = Math.round(fraction * 100);
      showBatch();
    };
    xhr.onload = function () {
      var text = answerText(xhr);
      if (xhr.status >= 200 && xhr.status < 300) {
        finish(job, true, text || "uploaded");
      } else {
        finish(job, false, text || "upload failed (HTTP " + xhr.status + ")");
      }
    };
    xhr.onerror = function () {
      finish(job, false, "upload failed: the connection was lost");
    };
    xhr.send(form);
  }

  function pump() {
    while (running < CONCURRENT && waiting.length) send(waiting.shift());
  }

  function start(files) {
    if (!files.length) return;
    if (!running && !waiting.length) {
      jobs = [];
      list.textContent = "";
    }
    batchBox.hidden = false;
    Array.prototype.forEach.call(files, function (file) {
      var job = item(file);
      jobs.push(job);
      waiting.push(job);
    });
    showBatch();
    pump();
  }

  input.addEventListener("change", function () {
    start(Array.prototype.slice.call(input.files));
    input.value = "";
  });

  drop.addEventListener("dragover", function (event) {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", function () {
    drop.classList.remove("over");
  });
  drop.addEventListener("drop", function (event) {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer) start(Array.prototype.slice.call(event.dataTransfer.files));
  });
})();
