;; WebAssembly SIMD kernels of @lycoris-ts/kernels (f32, row-major).
;; Compiled at build time by scripts/build-wasm.mjs (wabt) into src/generated/kernels-wasm.ts.
;; All pointers are byte offsets into the imported memory; the JS side (src/backend/wasm-*.ts)
;; owns the memory layout, blocking and edge handling.
(module
  (import "env" "memory" (memory 1))

  ;; Packs a block of A (rows x kc) into panels of 6 rows, layout [panel][p][6], zero-padding the
  ;; last panel. Element (i, p) is read at src + 4*(i*rs + p*cs), so a transposed A is rs=1, cs=lda.
  (func $pack_a (export "pack_a")
    (param $src i32) (param $rs i32) (param $cs i32) (param $rows i32) (param $kc i32) (param $dst i32)
    (local $i0 i32) (local $p i32) (local $ii i32) (local $row i32)
    (local.set $i0 (i32.const 0))
    (block $done
      (loop $panels
        (br_if $done (i32.ge_u (local.get $i0) (local.get $rows)))
        (local.set $p (i32.const 0))
        (block $pdone
          (loop $ploop
            (br_if $pdone (i32.ge_u (local.get $p) (local.get $kc)))
            (local.set $ii (i32.const 0))
            (loop $iloop
              (local.set $row (i32.add (local.get $i0) (local.get $ii)))
              (if (i32.lt_u (local.get $row) (local.get $rows))
                (then
                  (f32.store (local.get $dst)
                    (f32.load (i32.add (local.get $src)
                      (i32.shl (i32.add (i32.mul (local.get $row) (local.get $rs))
                                        (i32.mul (local.get $p) (local.get $cs))) (i32.const 2))))))
                (else (f32.store (local.get $dst) (f32.const 0))))
              (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
              (local.set $ii (i32.add (local.get $ii) (i32.const 1)))
              (br_if $iloop (i32.lt_u (local.get $ii) (i32.const 6))))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $ploop)))
        (local.set $i0 (i32.add (local.get $i0) (i32.const 6)))
        (br $panels))))

  ;; Packs a block of B (kc x cols) into panels of 8 columns, layout [panel][p][8], zero-padding the
  ;; last panel. Element (p, j) is read at src + 4*(p*rs + j*cs); full panels with cs = 1 are copied
  ;; with two v128 loads per row.
  (func $pack_b (export "pack_b")
    (param $src i32) (param $rs i32) (param $cs i32) (param $kc i32) (param $cols i32) (param $dst i32)
    (local $j0 i32) (local $p i32) (local $jj i32) (local $col i32) (local $addr i32)
    (local.set $j0 (i32.const 0))
    (block $done
      (loop $panels
        (br_if $done (i32.ge_u (local.get $j0) (local.get $cols)))
        (local.set $p (i32.const 0))
        (if (i32.and (i32.eq (local.get $cs) (i32.const 1))
                     (i32.le_u (i32.add (local.get $j0) (i32.const 8)) (local.get $cols)))
          (then
            (local.set $addr (i32.add (local.get $src) (i32.shl (local.get $j0) (i32.const 2))))
            (block $fdone
              (loop $floop
                (br_if $fdone (i32.ge_u (local.get $p) (local.get $kc)))
                (v128.store (local.get $dst) (v128.load (local.get $addr)))
                (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $addr)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
                (local.set $addr (i32.add (local.get $addr) (i32.shl (local.get $rs) (i32.const 2))))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $floop))))
          (else
            (block $pdone
              (loop $ploop
                (br_if $pdone (i32.ge_u (local.get $p) (local.get $kc)))
                (local.set $jj (i32.const 0))
                (loop $jloop
                  (local.set $col (i32.add (local.get $j0) (local.get $jj)))
                  (if (i32.lt_u (local.get $col) (local.get $cols))
                    (then
                      (f32.store (local.get $dst)
                        (f32.load (i32.add (local.get $src)
                          (i32.shl (i32.add (i32.mul (local.get $p) (local.get $rs))
                                            (i32.mul (local.get $col) (local.get $cs))) (i32.const 2))))))
                    (else (f32.store (local.get $dst) (f32.const 0))))
                  (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
                  (local.set $jj (i32.add (local.get $jj) (i32.const 1)))
                  (br_if $jloop (i32.lt_u (local.get $jj) (i32.const 8))))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $ploop)))))
        (local.set $j0 (i32.add (local.get $j0) (i32.const 8)))
        (br $panels))))

  ;; dst[i] += s * src[i] for n floats (used for unpadded copies with scaling and accumulation).
  (func $axpy (export "axpy") (param $dst i32) (param $src i32) (param $n i32) (param $s f32)
    (local $sv v128) (local $end i32) (local $vend i32)
    (local.set $sv (f32x4.splat (local.get $s)))
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $vend (i32.add (local.get $dst) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $dst) (local.get $vend)))
        (v128.store (local.get $dst)
          (f32x4.add (v128.load (local.get $dst)) (f32x4.mul (local.get $sv) (v128.load (local.get $src)))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (br $vloop)))
    (block $sdone
      (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $dst) (local.get $end)))
        (f32.store (local.get $dst)
          (f32.add (f32.load (local.get $dst)) (f32.mul (local.get $s) (f32.load (local.get $src)))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (br $sloop))))

  ;; Fused Kronecker merge: w[p*r, q*sk] += scale * kron(a[p,q], b[r,sk]) in one streaming pass over w
  ;; (each w row is i*r + j; its segment kk is w += (scale*a[i,kk]) * b[j,:]).
  (func $kron_merge (export "kron_merge")
    (param $w i32) (param $a i32) (param $p i32) (param $q i32) (param $b i32) (param $r i32) (param $sk i32)
    (param $scale f32)
    (local $i i32) (local $j i32) (local $kk i32) (local $c f32) (local $brow i32)
    (local.set $i (i32.const 0))
    (block $idone
      (loop $iloop
        (br_if $idone (i32.ge_u (local.get $i) (local.get $p)))
        (local.set $j (i32.const 0))
        (block $jdone
          (loop $jloop
            (br_if $jdone (i32.ge_u (local.get $j) (local.get $r)))
            (local.set $brow (i32.add (local.get $b) (i32.shl (i32.mul (local.get $j) (local.get $sk)) (i32.const 2))))
            (local.set $kk (i32.const 0))
            (block $kdone
              (loop $kloop
                (br_if $kdone (i32.ge_u (local.get $kk) (local.get $q)))
                (local.set $c (f32.mul (local.get $scale)
                  (f32.load (i32.add (local.get $a)
                    (i32.shl (i32.add (i32.mul (local.get $i) (local.get $q)) (local.get $kk)) (i32.const 2))))))
                (call $axpy (local.get $w) (local.get $brow) (local.get $sk) (local.get $c))
                (local.set $w (i32.add (local.get $w) (i32.shl (local.get $sk) (i32.const 2))))
                (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
                (br $kloop)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $jloop)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $iloop))))

  ;; LoHa row kernel: out[i, 0:width] = scale * (a1[i,:]·b1) ⊙ (a2[i,:]·b2) for rows [0, rows), one
  ;; f32x4 column strip at a time with both rank sums in registers (no [rows, cols] temporaries).
  ;; cols is the row stride of b1, b2 and out (floats); the JS side calls it per column block of
  ;; `width` floats so the b1/b2 block stays in L1 across all rows. cols and width are multiples of 4.
  (func $loha_rows (export "loha_rows")
    (param $a1 i32) (param $b1 i32) (param $a2 i32) (param $b2 i32) (param $rows i32) (param $cols i32)
    (param $width i32) (param $r1 i32) (param $r2 i32) (param $scale f32) (param $out i32)
    (local $i i32) (local $j i32) (local $k i32) (local $t1 v128) (local $t2 v128)
    (local $ap i32) (local $bp i32) (local $stride i32) (local $sv v128)
    (local.set $sv (f32x4.splat (local.get $scale)))
    (local.set $stride (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $i (i32.const 0))
    (block $idone
      (loop $iloop
        (br_if $idone (i32.ge_u (local.get $i) (local.get $rows)))
        (local.set $j (i32.const 0))
        (block $jdone
          (loop $jloop
            (br_if $jdone (i32.ge_u (local.get $j) (local.get $width)))
            (local.set $t1 (v128.const i64x2 0 0))
            (local.set $ap (i32.add (local.get $a1) (i32.shl (i32.mul (local.get $i) (local.get $r1)) (i32.const 2))))
            (local.set $bp (i32.add (local.get $b1) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $k (local.get $r1))
            (block $k1done
              (loop $k1loop
                (br_if $k1done (i32.eqz (local.get $k)))
                (local.set $t1 (f32x4.add (local.get $t1)
                  (f32x4.mul (v128.load32_splat (local.get $ap)) (v128.load (local.get $bp)))))
                (local.set $ap (i32.add (local.get $ap) (i32.const 4)))
                (local.set $bp (i32.add (local.get $bp) (local.get $stride)))
                (local.set $k (i32.sub (local.get $k) (i32.const 1)))
                (br $k1loop)))
            (local.set $t2 (v128.const i64x2 0 0))
            (local.set $ap (i32.add (local.get $a2) (i32.shl (i32.mul (local.get $i) (local.get $r2)) (i32.const 2))))
            (local.set $bp (i32.add (local.get $b2) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $k (local.get $r2))
            (block $k2done
              (loop $k2loop
                (br_if $k2done (i32.eqz (local.get $k)))
                (local.set $t2 (f32x4.add (local.get $t2)
                  (f32x4.mul (v128.load32_splat (local.get $ap)) (v128.load (local.get $bp)))))
                (local.set $ap (i32.add (local.get $ap) (i32.const 4)))
                (local.set $bp (i32.add (local.get $bp) (local.get $stride)))
                (local.set $k (i32.sub (local.get $k) (i32.const 1)))
                (br $k2loop)))
            (v128.store
              (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $cols)) (local.get $j)) (i32.const 2)))
              (f32x4.mul (local.get $sv) (f32x4.mul (local.get $t1) (local.get $t2))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $jloop)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $iloop))))

  ;; LoHa row kernel, register-blocked: like loha_rows but four f32x4 strips (16 columns) per step, so
  ;; each a-splat feeds four multiply-adds. width must be a multiple of 16.
  (func $loha_rows16 (export "loha_rows16")
    (param $a1 i32) (param $b1 i32) (param $a2 i32) (param $b2 i32) (param $rows i32) (param $cols i32)
    (param $width i32) (param $r1 i32) (param $r2 i32) (param $scale f32) (param $out i32)
    (local $i i32) (local $j i32) (local $k i32) (local $ap i32) (local $bp i32) (local $op i32)
    (local $stride i32) (local $sv v128) (local $x v128)
    (local $t1a v128) (local $t1b v128) (local $t1c v128) (local $t1d v128)
    (local $t2a v128) (local $t2b v128) (local $t2c v128) (local $t2d v128)
    (local.set $sv (f32x4.splat (local.get $scale)))
    (local.set $stride (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $i (i32.const 0))
    (block $idone
      (loop $iloop
        (br_if $idone (i32.ge_u (local.get $i) (local.get $rows)))
        (local.set $j (i32.const 0))
        (block $jdone
          (loop $jloop
            (br_if $jdone (i32.ge_u (local.get $j) (local.get $width)))
            (local.set $t1a (v128.const i64x2 0 0))
            (local.set $t1b (v128.const i64x2 0 0))
            (local.set $t1c (v128.const i64x2 0 0))
            (local.set $t1d (v128.const i64x2 0 0))
            (local.set $t2a (v128.const i64x2 0 0))
            (local.set $t2b (v128.const i64x2 0 0))
            (local.set $t2c (v128.const i64x2 0 0))
            (local.set $t2d (v128.const i64x2 0 0))
            (local.set $ap (i32.add (local.get $a1) (i32.shl (i32.mul (local.get $i) (local.get $r1)) (i32.const 2))))
            (local.set $bp (i32.add (local.get $b1) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $k (local.get $r1))
            (block $$k1done
              (loop $$k1loop
                (br_if $$k1done (i32.eqz (local.get $k)))
                (local.set $x (v128.load32_splat (local.get $ap)))
                (local.set $t1a (f32x4.add (local.get $t1a) (f32x4.mul (local.get $x) (v128.load offset=0 (local.get $bp)))))
                (local.set $t1b (f32x4.add (local.get $t1b) (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $bp)))))
                (local.set $t1c (f32x4.add (local.get $t1c) (f32x4.mul (local.get $x) (v128.load offset=32 (local.get $bp)))))
                (local.set $t1d (f32x4.add (local.get $t1d) (f32x4.mul (local.get $x) (v128.load offset=48 (local.get $bp)))))
                (local.set $ap (i32.add (local.get $ap) (i32.const 4)))
                (local.set $bp (i32.add (local.get $bp) (local.get $stride)))
                (local.set $k (i32.sub (local.get $k) (i32.const 1)))
                (br $$k1loop)))
            (local.set $ap (i32.add (local.get $a2) (i32.shl (i32.mul (local.get $i) (local.get $r2)) (i32.const 2))))
            (local.set $bp (i32.add (local.get $b2) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $k (local.get $r2))
            (block $$k2done
              (loop $$k2loop
                (br_if $$k2done (i32.eqz (local.get $k)))
                (local.set $x (v128.load32_splat (local.get $ap)))
                (local.set $t2a (f32x4.add (local.get $t2a) (f32x4.mul (local.get $x) (v128.load offset=0 (local.get $bp)))))
                (local.set $t2b (f32x4.add (local.get $t2b) (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $bp)))))
                (local.set $t2c (f32x4.add (local.get $t2c) (f32x4.mul (local.get $x) (v128.load offset=32 (local.get $bp)))))
                (local.set $t2d (f32x4.add (local.get $t2d) (f32x4.mul (local.get $x) (v128.load offset=48 (local.get $bp)))))
                (local.set $ap (i32.add (local.get $ap) (i32.const 4)))
                (local.set $bp (i32.add (local.get $bp) (local.get $stride)))
                (local.set $k (i32.sub (local.get $k) (i32.const 1)))
                (br $$k2loop)))
            (local.set $op (i32.add (local.get $out)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $cols)) (local.get $j)) (i32.const 2))))
            (v128.store offset=0 (local.get $op) (f32x4.mul (local.get $sv) (f32x4.mul (local.get $t1a) (local.get $t2a))))
            (v128.store offset=16 (local.get $op) (f32x4.mul (local.get $sv) (f32x4.mul (local.get $t1b) (local.get $t2b))))
            (v128.store offset=32 (local.get $op) (f32x4.mul (local.get $sv) (f32x4.mul (local.get $t1c) (local.get $t2c))))
            (v128.store offset=48 (local.get $op) (f32x4.mul (local.get $sv) (f32x4.mul (local.get $t1d) (local.get $t2d))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $jloop)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $iloop))))

  ;; Row dot products for small-batch x·Wᵀ (a linear layer at batch 1..8): out[r*ldo + j] =
  ;; Σ_p x[r*k16 + p] · w[j*k16 + p] for r < m, j < n. k16 is a multiple of 16 floats (callers
  ;; zero-pad); ldo is in floats; addresses in bytes. Four f32x4 accumulators hide the add latency,
  ;; and each W row (k16·4 bytes, L1-resident) is reused for all m rows of x, so W streams once.
  (func $dot_rows (export "dot_rows")
    (param $x i32) (param $m i32) (param $w i32) (param $n i32) (param $k16 i32) (param $out i32) (param $ldo i32)
    (local $j i32) (local $r i32) (local $wrow i32) (local $xp i32) (local $wp i32) (local $wend i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $rowBytes i32)
    (local.set $rowBytes (i32.shl (local.get $k16) (i32.const 2)))
    (local.set $j (i32.const 0))
    (block $jdone
      (loop $jloop
        (br_if $jdone (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $wrow (i32.add (local.get $w) (i32.mul (local.get $j) (local.get $rowBytes))))
        (local.set $wend (i32.add (local.get $wrow) (local.get $rowBytes)))
        (local.set $r (i32.const 0))
        (block $rdone
          (loop $rloop
            (br_if $rdone (i32.ge_u (local.get $r) (local.get $m)))
            (local.set $xp (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $rowBytes))))
            (local.set $wp (local.get $wrow))
            (local.set $a0 (v128.const i32x4 0 0 0 0))
            (local.set $a1 (v128.const i32x4 0 0 0 0))
            (local.set $a2 (v128.const i32x4 0 0 0 0))
            (local.set $a3 (v128.const i32x4 0 0 0 0))
            (block $pdone
              (loop $ploop
                (br_if $pdone (i32.ge_u (local.get $wp) (local.get $wend)))
                (local.set $a0 (f32x4.add (local.get $a0)
                  (f32x4.mul (v128.load offset=0 (local.get $xp)) (v128.load offset=0 (local.get $wp)))))
                (local.set $a1 (f32x4.add (local.get $a1)
                  (f32x4.mul (v128.load offset=16 (local.get $xp)) (v128.load offset=16 (local.get $wp)))))
                (local.set $a2 (f32x4.add (local.get $a2)
                  (f32x4.mul (v128.load offset=32 (local.get $xp)) (v128.load offset=32 (local.get $wp)))))
                (local.set $a3 (f32x4.add (local.get $a3)
                  (f32x4.mul (v128.load offset=48 (local.get $xp)) (v128.load offset=48 (local.get $wp)))))
                (local.set $xp (i32.add (local.get $xp) (i32.const 64)))
                (local.set $wp (i32.add (local.get $wp) (i32.const 64)))
                (br $ploop)))
            (local.set $a0 (f32x4.add (f32x4.add (local.get $a0) (local.get $a1))
                                      (f32x4.add (local.get $a2) (local.get $a3))))
            (f32.store
              (i32.add (local.get $out)
                (i32.shl (i32.add (i32.mul (local.get $r) (local.get $ldo)) (local.get $j)) (i32.const 2)))
              (f32.add
                (f32.add (f32x4.extract_lane 0 (local.get $a0)) (f32x4.extract_lane 1 (local.get $a0)))
                (f32.add (f32x4.extract_lane 2 (local.get $a0)) (f32x4.extract_lane 3 (local.get $a0)))))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $rloop)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jloop))))

  ;; GEBP macro-kernel: C[mc, nc] (+)= packedA · packedB with a 6x8 register tile (12 f32x4
  ;; accumulators). mc is a multiple of 6 and nc of 8 (the packers pad with zeros). packedA holds
  ;; panels of 6 rows as [kc][6]; packedB panels of 8 columns as [kc][8]. ldc is C's row stride in
  ;; bytes. acc = 0 overwrites C, otherwise adds to it. The jr loop is outside the ir loop so one
  ;; B panel (kc*32 bytes) stays in L1 while the A panels stream from L2.
  (func $gebp (export "gebp")
    (param $pa i32) (param $pb i32) (param $c i32) (param $mc i32) (param $nc i32) (param $kc i32)
    (param $ldc i32) (param $acc i32)
    (local $jr i32) (local $ir i32) (local $ap i32) (local $bp i32) (local $cp i32) (local $p i32)
    (local $x v128) (local $b0 v128) (local $b1 v128)
    (local $c00 v128)
    (local $c01 v128)
    (local $c10 v128)
    (local $c11 v128)
    (local $c20 v128)
    (local $c21 v128)
    (local $c30 v128)
    (local $c31 v128)
    (local $c40 v128)
    (local $c41 v128)
    (local $c50 v128)
    (local $c51 v128)
    (local.set $jr (i32.const 0))
    (block $jdone
      (loop $jloop
        (br_if $jdone (i32.ge_u (local.get $jr) (local.get $nc)))
        (local.set $ir (i32.const 0))
        (block $idone
          (loop $iloop
            (br_if $idone (i32.ge_u (local.get $ir) (local.get $mc)))
            (local.set $ap (i32.add (local.get $pa) (i32.shl (i32.mul (local.get $ir) (local.get $kc)) (i32.const 2))))
            (local.set $bp (i32.add (local.get $pb) (i32.shl (i32.mul (local.get $jr) (local.get $kc)) (i32.const 2))))
            (local.set $cp (i32.add (i32.add (local.get $c) (i32.mul (local.get $ir) (local.get $ldc)))
                                    (i32.shl (local.get $jr) (i32.const 2))))
            (if (local.get $acc)
              (then
          (local.set $c00 (v128.load offset=0 (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const 0)))))
          (local.set $c01 (v128.load offset=16 (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const 0)))))
          (local.set $c10 (v128.load offset=0 (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const 1)))))
          (local.set $c11 (v128.load offset=16 (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const 1)))))
          (local.set $c20 (v128.load offset=0 (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const 2)))))
          (local.set $c21 (v128.load offset=16 (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const 2)))))
          (local.set $c30 (v128.load offset=0 (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const 3)))))
          (local.set $c31 (v128.load offset=16 (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const 3)))))
          (local.set $c40 (v128.load offset=0 (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const 4)))))
          (local.set $c41 (v128.load offset=16 (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const 4)))))
          (local.set $c50 (v128.load offset=0 (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const 5)))))
          (local.set $c51 (v128.load offset=16 (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const 5)))))
              )
              (else
          (local.set $c00 (v128.const i64x2 0 0))
          (local.set $c01 (v128.const i64x2 0 0))
          (local.set $c10 (v128.const i64x2 0 0))
          (local.set $c11 (v128.const i64x2 0 0))
          (local.set $c20 (v128.const i64x2 0 0))
          (local.set $c21 (v128.const i64x2 0 0))
          (local.set $c30 (v128.const i64x2 0 0))
          (local.set $c31 (v128.const i64x2 0 0))
          (local.set $c40 (v128.const i64x2 0 0))
          (local.set $c41 (v128.const i64x2 0 0))
          (local.set $c50 (v128.const i64x2 0 0))
          (local.set $c51 (v128.const i64x2 0 0))
              ))
            (local.set $p (local.get $kc))
            (loop $ploop
              (local.set $b0 (v128.load (local.get $bp)))
              (local.set $b1 (v128.load offset=16 (local.get $bp)))
            (local.set $x (v128.load32_splat offset=0 (local.get $ap)))
            (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (local.get $b0))))
            (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x) (local.get $b1))))
            (local.set $x (v128.load32_splat offset=4 (local.get $ap)))
            (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x) (local.get $b0))))
            (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x) (local.get $b1))))
            (local.set $x (v128.load32_splat offset=8 (local.get $ap)))
            (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $x) (local.get $b0))))
            (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $x) (local.get $b1))))
            (local.set $x (v128.load32_splat offset=12 (local.get $ap)))
            (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $x) (local.get $b0))))
            (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $x) (local.get $b1))))
            (local.set $x (v128.load32_splat offset=16 (local.get $ap)))
            (local.set $c40 (f32x4.add (local.get $c40) (f32x4.mul (local.get $x) (local.get $b0))))
            (local.set $c41 (f32x4.add (local.get $c41) (f32x4.mul (local.get $x) (local.get $b1))))
            (local.set $x (v128.load32_splat offset=20 (local.get $ap)))
            (local.set $c50 (f32x4.add (local.get $c50) (f32x4.mul (local.get $x) (local.get $b0))))
            (local.set $c51 (f32x4.add (local.get $c51) (f32x4.mul (local.get $x) (local.get $b1))))
              (local.set $ap (i32.add (local.get $ap) (i32.const 24)))
              (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
              (local.set $p (i32.sub (local.get $p) (i32.const 1)))
              (br_if $ploop (local.get $p)))
        (v128.store offset=0 (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const 0))) (local.get $c00))
        (v128.store offset=16 (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const 0))) (local.get $c01))
        (v128.store offset=0 (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const 1))) (local.get $c10))
        (v128.store offset=16 (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const 1))) (local.get $c11))
        (v128.store offset=0 (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const 2))) (local.get $c20))
        (v128.store offset=16 (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const 2))) (local.get $c21))
        (v128.store offset=0 (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const 3))) (local.get $c30))
        (v128.store offset=16 (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const 3))) (local.get $c31))
        (v128.store offset=0 (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const 4))) (local.get $c40))
        (v128.store offset=16 (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const 4))) (local.get $c41))
        (v128.store offset=0 (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const 5))) (local.get $c50))
        (v128.store offset=16 (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const 5))) (local.get $c51))
            (local.set $ir (i32.add (local.get $ir) (i32.const 6)))
            (br $iloop)))
        (local.set $jr (i32.add (local.get $jr) (i32.const 8)))
        (br $jloop))))
)
