"""`{{ text|link_terms }}`: link the first mention of each known term to its entry."""

from django import template
from django.urls import reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe

from glossary import terms_cache

register = template.Library()


@register.filter(needs_autoescape=True)
def link_terms(text, autoescape=True):
    if not text:
        return ""
    escaped = conditional_escape(text) if autoescape else str(text)
    pattern, slugs = terms_cache.pattern_and_slugs()
    if pattern is None:
        return mark_safe(escaped)  # noqa: S308 - escaped above
    linked: set[str] = set()

    def link(match):
        word, plural = match.group(1), match.group(2)
        key = word.casefold()
        if key in linked or key not in slugs:
            return match.group(0)
        linked.add(key)
        slug, title = slugs[key]
        return format_html(
            '<a href="{}" class="term-link" title="{}">{}</a>',
            reverse("glossary:term", args=[slug]),
            title,
            mark_safe(word + plural),  # noqa: S308 - already escaped text
        )

    return mark_safe(pattern.sub(link, str(escaped)))  # noqa: S308 - built from escaped parts


@register.filter
def rule_value(value):
    """A rule's value as people write it: lists joined, between as "low and high"."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
