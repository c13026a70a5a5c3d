{#- After every layer: information box, legend, scale bar, initial view. -#}
{% macro script(this, kwargs) %}
    tryggkarta.finish({{ this._parent.get_name() }}, {{ this.meta_json }});
{% endmacro %}
