// Boots Swagger UI on /docs. A file of our own, not an inline <script>, so the page can keep a
// Content-Security-Policy of script-src 'self' (cyphera.api.docs). The page's root element says
// where the OpenAPI document is.
window.addEventListener("load", () => {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    // The public validator badge would load an image from another origin.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
});
