use burn::tensor::{Device, Tensor, Distribution};
fn run(a: &Tensor<2>, z: &Tensor<2>) -> f64 {
    let t = std::time::Instant::now();
    for _ in 0..4 { let r = a.clone().matmul(z.clone()); let _ = ddlab_model::host_f32(r); }
    t.elapsed().as_secs_f64()
}
fn main() {
    let d = Device::flex();
    let a = Tensor::<2>::random([1000, 8192], Distribution::Default, &d);
    let z = Tensor::<2>::random([8192, 640], Distribution::Default, &d);
    let flops = 4.0 * 2.0 * 1000.0 * 8192.0 * 640.0;
    let s = run(&a, &z);
    println!("one thread: {:.1} GFLOP/s", flops / s / 1e9);
    let t = std::time::Instant::now();
    std::thread::scope(|sc| { for _ in 0..2 { sc.spawn(|| { let p = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap(); p.install(|| run(&a, &z)) }); } });
    println!("two threads: {:.1} GFLOP/s", 2.0 * flops / t.elapsed().as_secs_f64() / 1e9);
    let p = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let s = p.install(|| run(&a, &z));
    println!("pool of 1: {:.1} GFLOP/s", flops / s / 1e9);
}
