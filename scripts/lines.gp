# Line chart with error bars: speedup, efficiency, io throughput, the chunk
# sweep.  scripts/report.py runs it with these variables (gnuplot -e):
#   datafile  one index block per series; its first line is the title
#             (columnheader), then rows "x y ylow yhigh [flag]"
#   nseries, colors, dashes  the series' count, colours and dash types
#   points    the series' point types (default: 7, a filled circle)
#   marked    1: ring every point whose fifth column (flag) is 1, with a
#             key entry saying it ran more MPI ranks than CPUs
#             (oversubscribed); 0 or unset: no rings
#   png, svg  output files (both are drawn)
#   title, xlabel, ylabel    "\n" in title starts a second line
#   ideal     "x": the ideal speedup line y = x; "1": y = 1; "none"
#   logx      0 or the base of a logarithmic x axis; logy 0 or 1
#   ncpu      the machine's usable CPUs, marked with a vertical line
#   keypos    where the legend goes (default "top left")
# Sizes: 1280x800 pixels with a 16-point font reads well on a projected
# slide; SVG is the same chart for documents that scale.
set terminal pngcairo size 1280,800 font "DejaVu Sans,16" noenhanced \
    linewidth 1.5
set output png
set title title font ",18"
set xlabel xlabel
set ylabel ylabel
set grid xtics ytics lc rgb "#d0d0d0"
if (!exists("keypos")) { keypos = "top left" }
if (!exists("marked")) { marked = 0 }
set key @keypos box opaque samplen 3 spacing 1.2 font ",14"
# A legend below the plot ("below") in two columns: gnuplot 5.4 leaves too
# little room for it under the x label, so the bottom margin is set here:
# 3.5 character heights for the tics and the label, and about 1.1 per row
# of entries (the key's 14-point font at spacing 1.2, in the 16-point
# font's units).
if (keypos eq "below") {
    nkey = nseries + (ideal ne "none" ? 1 : 0) + (marked > 0 ? 1 : 0)
    set key maxcols 2
    set bmargin 3.5 + ceil(nkey / 2.0) * 1.1 + 0.8
}
set border 3
set tics nomirror
set pointsize 1.3
set samples 400
if (logx > 0) { set logscale x logx }
# Room on the left and right so that the end points' error bars show, and
# on top (linear y only) so that the highest point clears the legend.
if (logy > 0) {
    set logscale y 10
    set offsets graph 0.04, graph 0.04, 0, 0
} else {
    set yrange [0:*]
    set offsets graph 0.04, graph 0.04, graph 0.08, 0
}
if (ncpu > 0) {
    set arrow 1 from ncpu, graph 0 to ncpu, graph 1 nohead dt 3 lw 2 \
        lc rgb "#606060" back
    set label 1 sprintf("%d usable CPUs", ncpu) at ncpu, graph 0.97 \
        offset 0.6, 0 left textcolor rgb "#404040" font ",13" front
}
if (!exists("points")) {
    points = ""
    do for [i=1:nseries] { points = points . " 7" }
}
series = "for [i=0:nseries-1] datafile index i using 1:2:3:4 " . \
    "with yerrorlines lw 2 pt int(word(points, i+1)) " . \
    "lc rgb word(colors, i+1) dt int(word(dashes, i+1)) " . \
    "title columnheader(1)"
# A ring (open circle, point type 6, drawn large) around each flagged
# point, in its series' colour, and one black ring in the key explaining
# it.  "every ::1" skips the block's title line.
if (marked > 0) {
    series = series . ", for [i=0:nseries-1] datafile index i " . \
        "every ::1 using 1:($5 > 0 ? $2 : NaN) with points pt 6 " . \
        "ps 3.2 lw 2 lc rgb word(colors, i+1) notitle, " . \
        "NaN with points pt 6 ps 2.2 lw 2 lc rgb '#000000' " . \
        "title 'ringed: MPI oversubscribed (ranks > CPUs)'"
}
if (ideal eq "x") {
    plot @series, x with lines lw 1.5 dt 2 lc rgb "#000000" \
        title "ideal (speedup = workers)"
} else {
    if (ideal eq "1") {
        plot @series, 1 with lines lw 1.5 dt 2 lc rgb "#000000" \
            title "ideal (100%)"
    } else {
        plot @series
    }
}
set terminal svg size 1280,800 dynamic font "DejaVu Sans,16" noenhanced \
    linewidth 1.5
set output svg
replot
unset output
