{#- One data layer drawn into its FeatureGroup / MarkerCluster (geo/static/maps/tryggkarta.js). -#}
{% macro script(this, kwargs) %}
    tryggkarta.addLayer({{ this._parent.get_name() }}, {{ this.map_name }}, {{ this.spec_json }});
{% endmacro %}
