# gnuplot script for bench/compare.sh: two bar charts side by side, read from
# datafile (system, process/s, enqueue/s; "?" = no figure), written to outfile.
set terminal pngcairo size 1200,520 font "sans,10"
set output outfile
set datafile missing "?"
set style data histograms
set style fill solid 0.85 border -1
set boxwidth 0.7
set grid ytics
set yrange [0:*]
set xtics rotate by -20 nomirror
set key off
set multiplot layout 1,2 title "no-op jobs, one private redis-server on this machine (higher is better)"
set title "processed jobs/s"
set format y "%.0s%c"
plot datafile using 2:xtic(1) linecolor rgb "#2b6cb0"
set title "enqueued jobs/s"
set format y "%.1s%c"
plot datafile using 3:xtic(1) linecolor rgb "#c05621"
unset multiplot
