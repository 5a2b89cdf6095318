# Line chart with error bars: speedup, efficiency, the chunk sweep, and the
# compare charts.  poolbench/charts.py loads it after setting, on
# gnuplot's standard input:
#   datafile      one index block per series; its first line is the title
#                 (columnheader), then rows "x y ylow yhigh flag 'label'"
#                 (flag 1: a flagged point, ringed and labelled "[n]")
#   nseries, colors, dashes, points   the series' count and, as words,
#                 their colours, dash types and point types
#   png, svg      output files (both are drawn, same chart)
#   title, xlabel, ylabel, footer, footnote
#   logx, logy    1: logarithmic axis
#   xmin, xmax, ymin, ymax            the axes' ranges
#   xtics_cmd, ytics_cmd  "set xtics (...)" commands with every tick
#                 written out, so ticks read as numbers ("0.5", "64")
#   ref           "diag": the ideal line y = refk * x; "const": y = refk;
#                 "none"; reftitle its legend entry
#   ncpu          the machine's usable CPUs (a dotted vertical line), or 0
#   nflagged      > 0: draw the flag markers and their legend entry
# The ideal line is straight because both axes have the same kind of
# scale (log-log for speedup, linear y for efficiency, whose ideal is
# flat).  The legend sits right of the plot, outside it, so it never hides
# a point.  1280x720 (16:9) with a 15-point font reads on a projected
# slide; the SVG is the same chart for documents that scale.
set terminal pngcairo size 1280,720 font "DejaVu Sans,15" noenhanced \
    linewidth 1.5
set output png
set title title font ",18"
set xlabel xlabel
set ylabel ylabel
set grid xtics ytics lc rgb "#d8d8d8"
set key outside right top vertical Left reverse box opaque samplen 3 \
    spacing 1.3 font ",13" width 1
set border 3
set tics nomirror
set pointsize 1.3
set samples 200
if (logx) { set logscale x 2 }
if (logy) { set logscale y 10 }
set xrange [xmin:xmax]
set yrange [ymin:ymax]
eval xtics_cmd
eval ytics_cmd
set bmargin 6
set label 100 footer at screen 0.01, screen 0.025 left font ",11" \
    textcolor rgb "#505050"
set label 101 footnote at screen 0.01, screen 0.065 left font ",11" \
    textcolor rgb "#A00000"
if (ncpu > 0) {
    set arrow 1 from ncpu, graph 0 to ncpu, graph 1 nohead dt 3 lw 2 \
        lc rgb "#707070" back
    set label 1 sprintf("%d usable CPUs", ncpu) at ncpu, graph 0.97 \
        offset 0.6, 0 left textcolor rgb "#404040" font ",12" front
}
series = "for [i=0:nseries-1] datafile index i using 1:2:3:4 " . \
    "with yerrorlines lw 2 pt int(word(points, i+1)) " . \
    "lc rgb word(colors, i+1) dt int(word(dashes, i+1)) " . \
    "title columnheader(1)"
if (nflagged > 0) {
    series = series . ", for [i=0:nseries-1] datafile index i " . \
        "using 1:($5 > 0 ? $2 : NaN) with points pt 6 ps 3.4 lw 2.5 " . \
        "lc rgb '#D00000' notitle, " . \
        "for [i=0:nseries-1] datafile index i " . \
        "using 1:($5 > 0 ? $2 : NaN):6 with labels offset 1.6, 1.1 " . \
        "textcolor rgb '#D00000' font ',13' notitle, " . \
        "NaN with points pt 6 ps 2.2 lw 2.5 lc rgb '#D00000' " . \
        "title 'flagged [n]: read with care'"
}
if (ref eq "diag") {
    series = series . ", refk * x with lines lw 1.5 dt 2 " . \
        "lc rgb '#000000' title reftitle"
}
if (ref eq "const") {
    series = series . ", refk with lines lw 1.5 dt 2 " . \
        "lc rgb '#000000' title reftitle"
}
plot @series
set terminal svg size 1280,720 dynamic font "DejaVu Sans,15" noenhanced \
    linewidth 1.5
set output svg
replot
unset output
