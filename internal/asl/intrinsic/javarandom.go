package intrinsic

// javaRandom is java.util.Random's 48-bit linear congruential generator, which AWS uses for
// seeded States.MathRandom and JSONata's seeded $random.
type javaRandom struct{ seed int64 }

const (
	javaMultiplier = 0x5DEECE66D
	javaAddend     = 0xB
	javaMask       = 1<<48 - 1
)

func newJavaRandom(seed int64) *javaRandom {
	return &javaRandom{seed: (seed ^ javaMultiplier) & javaMask}
}

func (r *javaRandom) next(bits uint) int32 {
	r.seed = (r.seed*javaMultiplier + javaAddend) & javaMask
	return int32(uint64(r.seed) >> (48 - bits))
}

// nextInt is Random.nextInt(bound), bound > 0, rejection loop included.
func (r *javaRandom) nextInt(bound int32) int32 {
	v := r.next(31)
	m := bound - 1
	if bound&m == 0 {
		return int32((int64(bound) * int64(v)) >> 31)
	}
	for u := v; ; u = r.next(31) {
		v = u % bound
		if u-v+m >= 0 { // int32 overflow here is Java's signal to draw again
			return v
		}
	}
}

// nextDouble is Random.nextDouble: 53 random bits from two draws.
func (r *javaRandom) nextDouble() float64 {
	return float64(int64(r.next(26))<<27+int64(r.next(27))) / (1 << 53)
}

// SeededFloat is new java.util.Random(seed).nextDouble(), what AWS's $random(seed) returns.
func SeededFloat(seed int64) float64 { return newJavaRandom(seed).nextDouble() }
