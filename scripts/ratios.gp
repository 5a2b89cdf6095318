# Horizontal bar chart of ratios on a log scale, each bar drawn from 1
# (no change) to its value, so that a ratio below 1 points left and one
# above points right; whiskers for its 95% interval.  The remedies chart
# (poolbench/charts.py) loads it after setting:
#   datafile   rows: "label" ratio low high, top row first
#   nrows, png, svg, title, xlabel, footer, xmin, xmax, xtics_cmd
set terminal pngcairo size 1280,720 font "DejaVu Sans,15" noenhanced \
    linewidth 1.5
set output png
set title title font ",18"
set xlabel xlabel
set logscale x 10
set xrange [xmin:xmax]
eval xtics_cmd
set yrange [nrows - 0.4:-0.6]
set ytics nomirror font ",13"
set grid xtics lc rgb "#d8d8d8"
set border 3
set tics nomirror
unset key
set lmargin 42
set rmargin 5
set bmargin 6
set arrow 1 from 1, graph 0 to 1, graph 1 nohead lc rgb "#404040" lw 2
set label 100 footer at screen 0.01, screen 0.025 left font ",11" \
    textcolor rgb "#505050"
set style fill solid 0.85 border -1
# Column 0 is the row number: the y of the bar.  boxxyerror takes x, y,
# xlow, xhigh, ylow, yhigh.
plot datafile using (1):0:(($2 < 1) ? $2 : 1):(($2 < 1) ? 1 : $2): \
         ($0 - 0.32):($0 + 0.32):ytic(1) with boxxyerror \
         lc rgb "#0072B2", \
     datafile using 2:0:3:4 with xerrorbars pt 7 ps 0.6 lc rgb "#202020"
set terminal svg size 1280,720 dynamic font "DejaVu Sans,15" noenhanced \
    linewidth 1.5
set output svg
replot
unset output
