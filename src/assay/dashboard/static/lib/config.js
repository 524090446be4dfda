// Server-rendered settings, read once from <body data-*> (the index template writes them).
const d = document.body.dataset;

export const config = Object.freeze({
  uiBase: d.uiBase || "/workflow",
  apiBase: d.apiBase || "/api/v1/engine/workflow",
  defaultNamespace: d.defaultNamespace || "main",
  version: d.version || "",
  brandName: d.brandName || "Assay",
  apiDocsUrl: d.apiDocsUrl || null, // null: hidden by ASSAY_WHITELABEL_API_DOCS_URL=""
});
