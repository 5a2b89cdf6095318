# Line chart with error bars: speedup, efficiency, io throughput, the chunk
# sweep.  scripts/report.py runs it with these variables (gnuplot -e):
#   datafile  one index block per series; its first line is the title
#             (columnheader), then rows "x y ylow yhigh"
#   nseries, colors, dashes  the series' count, colours and dash types
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
set key @keypos box opaque samplen 3 spacing 1.2 font ",14"
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
series = "for [i=0:nseries-1] datafile index i using 1:2:3:4 " . \
    "with yerrorlines lw 2 pt 7 lc rgb word(colors, i+1) " . \
    "dt int(word(dashes, i+1)) title columnheader(1)"
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
