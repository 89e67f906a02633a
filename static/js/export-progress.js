// Bulk export progress (templates/records/_export.html): a click on a download link asks its region to show
// how far the export has got, and the region then polls every second until it is done. The region is not told
// by htmx's own "click from:" trigger, because htmx cancels the default action of a clicked link, and the
// default action here is the download itself.
document.addEventListener("click", (event) => {
  const link = event.target instanceof Element ? event.target.closest("a[data-export-link]") : null;
  const region = link ? link.closest("[data-export]") : null;
  if (region && window.htmx) {
    window.htmx.trigger(region, "export-started");
  }
});
