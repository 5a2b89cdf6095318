# The case studies' charts, drawn straight from benchmark records.
#
#   gnuplot -e "records='R.csv'; chart='crawl'; png='crawl.png'; \
#               svg='crawl.svg'; title='...'" scripts/cases.gp
#
# records  a CSV file of records as the programs append them with --out
#          (bench,lang,mode,variant,workers,n,chunk,tasks,rep,setup_s,
#          kernel_s,result,expected,check; a header line is skipped, other
#          benchmarks' lines are ignored).  Every record of a configuration
#          is one sample; a point is their mean (gnuplot's "smooth
#          unique"), and the thin marks behind it are the samples, so the
#          spread stays visible.
# chart    "crawl":  pages per second (tasks / kernel_s) against workers,
#                    seq and threads, with the ideal set by the server's
#                    delay: min(W, pages) x 1000 / delay_ms, the delay read
#                    from each record's variant ("delay20ms").
#          "images": images per second (n / kernel_s) against workers for
#                    seq, threads and procs, with the sequential rate as a
#                    dashed line and "sequential x min(W, ncpu)" as the
#                    ideal.
# ncpu     optional, the usable CPUs (default 2), for the images ideal and
#          a vertical mark.
# title    optional; "\n" starts a second line.
# Only failed records (check != ok) are left out: a wrong answer's speed
# means nothing.  Needs awk (POSIX; gnuplot reads the records through
# it).  Sizes and fonts as scripts/lines.gp (1280x800, 16 pt).

if (!exists("records") || !exists("chart") || !exists("png")) {
    print "cases.gp: set records, chart (crawl|images) and png"
    exit status 2
}
if (!exists("svg")) { svg = "" }
if (!exists("ncpu")) { ncpu = 2 }
if (!exists("title")) { title = "" }

set datafile separator ","
set terminal pngcairo size 1280,800 font "DejaVu Sans,16" noenhanced \
    linewidth 1.5
set output png
set title title font ",18"
set grid xtics ytics lc rgb "#d0d0d0"
set key top left box opaque samplen 3 spacing 1.2 font ",14"
set border 3
set tics nomirror
set pointsize 1.3
set logscale x 2
set xlabel "workers (threads or processes)"

# The records of benchmark b in mode m, C, checked ok: filtered by awk
# before gnuplot sees them, because gnuplot's "smooth unique" breaks its
# line at every row a "using" filter rejects.  (The path must not contain a
# single quote.)
sel(b, m) = sprintf("< awk -F, '$1 == \"%s\" && $2 == \"c\" && " . \
                    "$3 == \"%s\" && $14 == \"ok\"' '%s'", b, m, records)
# "delay20ms" -> 20
delay(v) = v[1:5] eq "delay" ? real(v[6:strlen(v) - 2]) : NaN
min(a, b) = a < b ? a : b

if (chart eq "crawl") {
    set ylabel "pages per second"
    set logscale y 10
    plot sel("crawl", "threads") using 5:($8 / $11) \
             with points pt 1 ps 0.8 lc rgb "#9ecae1" notitle, \
         sel("crawl", "threads") using 5:($8 / $11) \
             smooth unique with linespoints lw 2 pt 7 lc rgb "#1f77b4" \
             title "C threads (tp_pool)", \
         sel("crawl", "seq") using 5:($8 / $11) \
             smooth unique with points pt 5 ps 1.8 lc rgb "#d62728" \
             title "sequential", \
         sel("crawl", "threads") \
             using 5:(min($5, $6) * 1000.0 / delay(strcol(4))) \
             smooth unique with lines lw 1.5 dt 2 lc rgb "#000000" \
             title "ideal: min(W, pages) x 1000 / delay"
} else {
    if (chart eq "images") {
        set ylabel "images per second"
        set yrange [0:*]
        set key bottom right
        stats sel("images", "seq") using ($6 / $11) nooutput name "SEQ"
        if (ncpu > 0) {
            set arrow 1 from ncpu, graph 0 to ncpu, graph 1 nohead dt 3 \
                lw 2 lc rgb "#606060" back
            set label 1 sprintf("%d usable CPUs", ncpu) at ncpu, \
                graph 0.97 offset 0.6, 0 left textcolor rgb "#404040" \
                font ",13"
        }
        plot sel("images", "threads") using 5:($6 / $11) \
                 with points pt 1 ps 0.8 lc rgb "#9ecae1" notitle, \
             sel("images", "procs") using 5:($6 / $11) \
                 with points pt 1 ps 0.8 lc rgb "#fdae6b" notitle, \
             sel("images", "threads") using 5:($6 / $11) \
                 smooth unique with linespoints lw 2 pt 7 \
                 lc rgb "#1f77b4" title "C threads (tp_pool)", \
             sel("images", "procs") using 5:($6 / $11) \
                 smooth unique with linespoints lw 2 pt 5 \
                 lc rgb "#ff7f0e" title "C processes (pp_pool)", \
             SEQ_mean with lines lw 1.5 dt 4 lc rgb "#d62728" \
                 title sprintf("sequential (%.0f images/s)", SEQ_mean), \
             SEQ_mean * min(x, ncpu) with lines lw 1.5 dt 2 \
                 lc rgb "#000000" title "ideal: sequential x min(W, CPUs)"
    } else {
        print "cases.gp: chart must be crawl or images, not ", chart
        exit status 2
    }
}
if (svg ne "") {
    set terminal svg size 1280,800 dynamic font "DejaVu Sans,16" \
        noenhanced linewidth 1.5
    set output svg
    replot
}
unset output
