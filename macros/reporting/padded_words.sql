{#- Text as lower-case words between single spaces, padded with a space at each end, so
    `position(padded_words(a) in padded_words(b)) > 0` says whether the words of a occur, as
    whole words, in b: "Evie" is found in "Evie's parents" but not in "review". Punctuation
    that separates words in free text and identifiers (. , ; : ( ) ' " ! ? / - @) counts as a
    space on both sides. -#}
{% macro padded_words(expr) -%}
    {{ return(adapter.dispatch('padded_words', 'tinytracker')(expr)) }}
{%- endmacro %}

{% macro default__padded_words(expr) -%}
    {#- a namespace: a plain set inside a for loop would not outlive the loop -#}
    {%- set text = namespace(sql='lower(' ~ expr ~ ')') -%}
    {%- for mark in ['.', ',', ';', ':', '(', ')', "''", '"', '!', '?', '/', '-', '@'] -%}
        {%- set text.sql = "replace(" ~ text.sql ~ ", '" ~ mark ~ "', ' ')" -%}
    {%- endfor -%}
    {{ dbt.concat(["' '", text.sql, "' '"]) }}
{%- endmacro %}
