/*
 * html.h - the crawler's HTML parsing (html.c).
 */
#ifndef BENCH_HTML_H
#define BENCH_HTML_H

#include <stddef.h>

/*
 * crawl_parse_html() finds the <title> text (entities decoded, surrounding
 * white space removed) and the href of every <a> element, skipping
 * comments, scripts and styles.  *title and every (*hrefs)[i] are new
 * strings; the caller frees them (crawl_strings_free()).  Returns 0 or
 * ENOMEM.
 */
int crawl_parse_html(const char *html, size_t len, char **title,
                     char ***hrefs, size_t *nhrefs);
void crawl_strings_free(char **v, size_t n);

#endif
