# Bar chart, log scale: per-task overhead of every implementation, one
# cluster of bars per implementation, one bar per variant, error bars from
# the first to the third quartile.  scripts/report.py runs it with:
#   datafile   rows: "name" then (median low high) per variant, in us
#   nvariants, variants  the variants' count and names (bulk map ...)
#   png, svg, title
set terminal pngcairo size 1280,800 font "DejaVu Sans,16" noenhanced \
    linewidth 1.5
set output png
set title title font ",18"
set ylabel "overhead per task, per item for map (microseconds, log scale)"
set xlabel "implementation (py: Python)"
set logscale y 10
set grid ytics lc rgb "#d0d0d0"
set border 3
set tics nomirror
set xtics rotate by -30 left nomirror font ",14"
set key top left box opaque font ",14"
set style data histogram
set style histogram errorbars gap 1 lw 1.5
set style fill solid 0.85 border -1
set bmargin 7
set rmargin 9
palette = "#0072B2 #D55E00 #009E73 #CC79A7"
plot for [i=1:nvariants] datafile \
    using (column(3*i-1)):(column(3*i)):(column(3*i+1)):xtic(1) \
    lc rgb word(palette, i) title word(variants, i)
set terminal svg size 1280,800 dynamic font "DejaVu Sans,16" noenhanced \
    linewidth 1.5
set output svg
replot
unset output
