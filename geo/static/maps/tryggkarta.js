/* tryggkarta's map code (inlined into every map by geo/maps.py; Leaflet 1.9 and
   Leaflet.markercluster are inlined before it).

   geo/maps.py builds a folium.Map: one FeatureGroup (or MarkerCluster) per layer, and
   inside each a small element whose script calls tryggkarta.addLayer(container, map,
   spec) with that layer's data. tryggkarta.finish(map, meta) then adds the information
   box, the legend (of the layers shown), the metric scale bar, fits the view and sets
   window.tryggkarta.ready. */
(function () {
  "use strict";
  var T = window.tryggkarta = window.tryggkarta || {layers: {}, specs: {}, order: [],
                                                    ready: false};

  // SWEREF 99 TM (EPSG:3006) -> WGS84: Lantmaeteriet's Gauss-Krueger inverse formulas.
  var A = 6378137.0, F = 1 / 298.257222101, LON0 = 15.0 * Math.PI / 180, K0 = 0.9996,
      FE = 500000.0;
  var E2 = F * (2 - F), N = F / (2 - F);
  var AR = A / (1 + N) * (1 + N * N / 4 + Math.pow(N, 4) / 64);
  var D1 = N / 2 - 2 * N * N / 3 + 37 * Math.pow(N, 3) / 96 - Math.pow(N, 4) / 360,
      D2 = N * N / 48 + Math.pow(N, 3) / 15 - 437 * Math.pow(N, 4) / 1440,
      D3 = 17 * Math.pow(N, 3) / 480 - 37 * Math.pow(N, 4) / 840,
      D4 = 4397 * Math.pow(N, 4) / 161280;
  var AS = E2 + E2 * E2 + Math.pow(E2, 3) + Math.pow(E2, 4),
      BS = -(7 * E2 * E2 + 17 * Math.pow(E2, 3) + 30 * Math.pow(E2, 4)) / 6,
      CS = (224 * Math.pow(E2, 3) + 889 * Math.pow(E2, 4)) / 120,
      DS = -(4279 * Math.pow(E2, 4)) / 1260;
  T.toLatLng = function (x, y) {
    var xi = y / (K0 * AR), eta = (x - FE) / (K0 * AR);
    var xp = xi - D1 * Math.sin(2 * xi) * Math.cosh(2 * eta)
                - D2 * Math.sin(4 * xi) * Math.cosh(4 * eta)
                - D3 * Math.sin(6 * xi) * Math.cosh(6 * eta)
                - D4 * Math.sin(8 * xi) * Math.cosh(8 * eta);
    var ep = eta - D1 * Math.cos(2 * xi) * Math.sinh(2 * eta)
                 - D2 * Math.cos(4 * xi) * Math.sinh(4 * eta)
                 - D3 * Math.cos(6 * xi) * Math.sinh(6 * eta)
                 - D4 * Math.cos(8 * xi) * Math.sinh(8 * eta);
    var ps = Math.asin(Math.sin(xp) / Math.cosh(ep));
    var dl = Math.atan(Math.sinh(ep) / Math.cos(xp));
    var s2 = Math.sin(ps) * Math.sin(ps);
    var lat = ps + Math.sin(ps) * Math.cos(ps) * (AS + BS * s2 + CS * s2 * s2 + DS * s2 * s2 * s2);
    return L.latLng(lat * 180 / Math.PI, (LON0 + dl) * 180 / Math.PI);
  };

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  T.esc = esc;

  // A popup: every property (already formatted for the language by geo/maps.py); keys
  // are shown by their label when the map has one ("_"-keys are for drawing only).
  function table(title, props) {
    var labels = (T.meta && T.meta.labels) || {};
    var h = '<div class="tk-pop"><b>' + esc(title) + "</b><table>";
    Object.keys(props).forEach(function (k) {
      if (k.charAt(0) === "_") return;
      h += '<tr><th data-field="' + esc(k) + '">' + esc(labels[k] || k) + "</th><td>" +
           esc(props[k]) + "</td></tr>";
    });
    return h + "</table></div>";
  }
  T.table = table;

  // Cell centres in the map's language (sv: 674 512,5), two decimals at most.
  function num(v) {
    var lang = (T.meta && T.meta.bcp47) || "sv-SE";
    return new Intl.NumberFormat(lang, {maximumFractionDigits: 2}).format(v);
  }

  function renderer(map) {
    if (!map._tkRenderer) map._tkRenderer = L.canvas({padding: 0.5});
    return map._tkRenderer;
  }

  function geojsonLayers(spec, map) {
    var r = renderer(map);
    var gj = L.geoJSON(spec.data, {
      renderer: r,
      pointToLayer: function (f, ll) {
        var p = f.properties;
        if (spec.icon === "number") {
          return L.marker(ll, {icon: L.divIcon({className: "tk-num", html: esc(p._label),
                                                iconSize: [22, 22]}),
                               title: (spec.marker_title || "") + " " + p._label});
        }
        return L.circleMarker(ll, {renderer: r, radius: spec.radius || 5,
          color: "#222", weight: 1, fillColor: p._c || spec.color, fillOpacity: 0.9});
      },
      style: function (f) {
        var c = f.properties._c || spec.color;
        return {color: spec.weight > 1 ? c : "#444", weight: spec.weight || 1, fillColor: c,
                fillOpacity: spec.fill_opacity === undefined ? 0.4 : spec.fill_opacity,
                opacity: 0.9};
      },
      onEachFeature: function (f, l) {
        l.bindPopup(function () { return table(spec.title || spec.name, f.properties); });
        if (spec.label_field && f.properties[spec.label_field]) {
          l.bindTooltip(esc(f.properties[spec.label_field]), {sticky: true});
        }
      }
    });
    return gj.getLayers();
  }

  function gridLayers(spec, map) {
    var out = [], c = spec.cell, r = renderer(map);
    spec.rows.forEach(function (row) {
      var x = spec.x0 + row[0] * c, y = spec.y0 + row[1] * c;
      var ring = [T.toLatLng(x, y), T.toLatLng(x + c, y), T.toLatLng(x + c, y + c),
                  T.toLatLng(x, y + c)];
      var poly = L.polygon(ring, {renderer: r, stroke: false, fillColor: spec.palette[row[2]],
                                  fillOpacity: spec.opacity || 0.6});
      poly.bindPopup(function () {
        var props = {};
        if (spec.centre) {
          props.x = num(x + c / 2);
          props.y = num(y + c / 2);
        }
        spec.fields.forEach(function (f, k) {
          if (row[3 + k] !== null) props[f] = row[3 + k];
        });
        return table(spec.title || spec.name, props);
      });
      out.push(poly);
    });
    return out;
  }

  // Draw one layer's features into its container (a folium FeatureGroup or MarkerCluster).
  T.addLayer = function (container, map, spec) {
    var items = spec.type === "grid" ? gridLayers(spec, map) : geojsonLayers(spec, map);
    if (container.addLayers) container.addLayers(items);  // MarkerClusterGroup
    else items.forEach(function (l) { container.addLayer(l); });
    T.layers[spec.key] = container;
    T.specs[spec.key] = spec;
    T.order.push(spec.key);
    return container;
  };

  function infoBox(map, M) {
    var info = L.control({position: "bottomleft"});
    info.onAdd = function () {
      var d = L.DomUtil.create("div", "tk-box tk-info" + (M.public ? " tk-public" : ""));
      var t = M.text, h = "<h1>" + esc(M.title) + "</h1>";
      if (M.public) h += '<p class="tk-public-note">' + esc(M.public_note) + "</p>";
      h += "<p><b>" + esc(t.period) + ":</b> " + esc(M.period) + "</p>";
      if (M.sources.length) {
        h += "<p><b>" + esc(t.sources) + ":</b> " + M.sources.map(esc).join("; ") + "</p>";
      }
      h += '<p class="tk-crs"><b>' + esc(t.crs) + ":</b> " + esc(M.crs) + "</p>";
      M.notes.forEach(function (n) { h += "<p>" + esc(n) + "</p>"; });
      if (M.generated) h += '<p class="tk-date">' + esc(M.generated) + "</p>";
      d.innerHTML = h;
      L.DomEvent.disableClickPropagation(d);
      L.DomEvent.disableScrollPropagation(d);
      return d;
    };
    info.addTo(map);
  }

  function legendControl(map, M) {
    var legend = L.control({position: "bottomright"});
    legend.onAdd = function () {
      this._div = L.DomUtil.create("div", "tk-box tk-legend");
      L.DomEvent.disableScrollPropagation(this._div);
      this.update();
      return this._div;
    };
    legend.update = function () {
      var h = "", hidden = 0;
      T.order.forEach(function (key) {
        var spec = T.specs[key];
        if (!map.hasLayer(T.layers[key])) { hidden += 1; return; }
        h += '<div class="tk-legend-layer" data-key="' + esc(key) + '"><h2>' +
             esc(spec.name) + "</h2>";
        spec.legend.forEach(function (e) {
          var style = e.shape === "outline" ? "border-color:" + e.color
                                            : "background:" + e.color;
          var txt = e.shape === "number" ? "1" : "";
          h += '<div class="row"><span class="tk-sw ' + esc(e.shape) + '" style="' +
               esc(style) + '">' + txt + "</span>" + esc(e.label) + "</div>";
        });
        h += "</div>";
      });
      if (hidden) h += '<div class="tk-more">' + esc(M.text.more_layers) + "</div>";
      this._div.innerHTML = h || "<i>" + esc(M.text.no_layer) + "</i>";
    };
    legend.addTo(map);
    map.on("overlayadd overlayremove", function () { legend.update(); });
    return legend;
  }

  // After every layer: information box, legend, scale bar, view; then ready.
  T.finish = function (map, M) {
    T.map = map;
    T.meta = M;
    map.attributionControl.setPrefix(
      '<a href="https://leafletjs.com" title="Leaflet">Leaflet</a>');
    [["in", M.text.zoom_in], ["out", M.text.zoom_out]].forEach(function (z) {
      var b = map.getContainer().querySelector(".leaflet-control-zoom-" + z[0]);
      if (b) { b.setAttribute("title", z[1]); b.setAttribute("aria-label", z[1]); }
    });
    L.control.scale({imperial: false, maxWidth: 160, position: "bottomleft"}).addTo(map);
    infoBox(map, M);
    T.legend = legendControl(map, M);
    var b = L.latLngBounds([]);
    T.order.forEach(function (k) {
      var lb = T.layers[k].getBounds ? T.layers[k].getBounds() : null;
      if (lb && lb.isValid()) b.extend(lb);
    });
    if (b.isValid()) map.fitBounds(b, {padding: [10, 10]});
    else map.setView([62.0, 16.0], 5);
    T.ready = true;
    document.body.setAttribute("data-ready", "1");
  };
})();
