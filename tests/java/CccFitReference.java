// Reference for tests/test_ccc_java.py: the fit stage of CCC 2.2.3 (as described in
// ../shared/reference/ccc-2.2.3.md, sections 3-4) run on Apache commons-math3 3.6.1's
// GaussianCurveFitter. Input (stdin): "pixel" on the first line, then one "key sCorr oCorr" line per
// profile bin in ascending key order. Output: norm mean sigma confidence rSquared, or "FAILED".
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

import org.apache.commons.math3.analysis.function.Gaussian;
import org.apache.commons.math3.exception.TooManyIterationsException;
import org.apache.commons.math3.fitting.GaussianCurveFitter;
import org.apache.commons.math3.fitting.WeightedObservedPoints;

public class CccFitReference {

    static WeightedObservedPoints mirrored(SortedMap<Double, Double> data) {
        double peak = 0;
        double peakKey = 0;
        for (Map.Entry<Double, Double> e : data.entrySet()) {
            if (e.getValue() > peak) {
                peak = e.getValue();
                peakKey = e.getKey();
            }
        }
        if (peakKey == data.firstKey()) {
            peakKey = 0.0;
        }
        WeightedObservedPoints points = new WeightedObservedPoints();
        for (Map.Entry<Double, Double> e : data.entrySet()) {
            points.add(e.getKey(), e.getValue());
            if (e.getKey() > 2 * peakKey) {
                points.add(2 * peakKey - e.getKey(), e.getValue());
            }
        }
        return points;
    }

    static double[] fit(SortedMap<Double, Double> data, int iterations) {
        try {
            return GaussianCurveFitter.create().withMaxIterations(iterations).fit(mirrored(data).toList());
        } catch (TooManyIterationsException e) {
            return null;
        }
    }

    static SortedMap<Double, Double> movingAverage(SortedMap<Double, Double> data, double width) {
        SortedMap<Double, Double> out = new TreeMap<>();
        for (Double key : data.keySet()) {
            SortedMap<Double, Double> window = data.subMap(key - width, key + width);
            double keySum = 0;
            double valueSum = 0;
            for (Map.Entry<Double, Double> e : window.entrySet()) {
                keySum += e.getKey();
                valueSum += e.getValue();
            }
            out.put(keySum / window.size(), valueSum / window.size());
        }
        return out;
    }

    static boolean bad(double[] p, double pixel) {
        return p == null || p[2] <= pixel || p[1] < -pixel || p[0] < 0;
    }

    static double sumOpen(SortedMap<Double, Double> data, double lo, double hi) {
        double total = 0;
        for (Map.Entry<Double, Double> e : data.entrySet()) {
            if (lo < e.getKey() && e.getKey() < hi) {
                total += e.getValue();
            }
        }
        return total;
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        double pixel = Double.parseDouble(in.readLine().trim());
        SortedMap<Double, Double> sub = new TreeMap<>();
        SortedMap<Double, Double> orig = new TreeMap<>();
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 3) continue;
            double key = Double.parseDouble(f[0]);
            sub.put(key, Double.parseDouble(f[1]));
            orig.put(key, Double.parseDouble(f[2]));
        }
        double[] p = fit(sub, 100);
        if (bad(p, pixel)) {
            for (double w = pixel / 10; (p == null || p[2] <= pixel || p[1] < 0) && w <= pixel / 2; w += pixel / 10) {
                p = fit(movingAverage(sub, w), 50);
            }
        }
        if (bad(p, pixel)) {
            System.out.println("FAILED");
            return;
        }
        double mean = p[1];
        double sigma = p[2];
        Gaussian g = new Gaussian(p[0], Math.abs(mean), sigma);
        double confidence = sumOpen(sub, mean - 3 * sigma, mean + 3 * sigma)
                / sumOpen(orig, mean - 3 * sigma, mean + 3 * sigma);
        SortedMap<Double, Double> range = sub.subMap(mean - 3 * sigma, mean + 3 * sigma);
        double rangeMean = 0;
        for (double v : range.values()) rangeMean += v;
        rangeMean /= range.size();
        double res = 0;
        double tot = 0;
        for (Map.Entry<Double, Double> e : range.entrySet()) {
            res += Math.pow(e.getValue() - g.value(e.getKey()), 2);
            tot += Math.pow(e.getValue() - rangeMean, 2);
        }
        System.out.printf("%.17g %.17g %.17g %.17g %.17g%n", p[0], mean, sigma, confidence, 1 - res / tot);
    }
}
