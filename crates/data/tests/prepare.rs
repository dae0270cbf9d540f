//! Splitting, class-balanced subsets, standardisation and label noise.

use ddlab_config::{Condition, Standardize};
use ddlab_data::*;
use rand::SeedableRng;

fn toy(n: usize, classes: u32) -> Dataset {
    let x = (0..n * 3).map(|i| (i % 17) as f32 + (i / 3) as f32 * 0.01).collect();
    let y = (0..n as u32).map(|i| i % classes).collect();
    Dataset::new(x, y, 3, std::path::Path::new("toy")).unwrap()
}

#[test]
fn balanced_draws_are_balanced_and_nested() {
    let labels: Vec<u32> = (0..1000u32).map(|i| if i < 700 { i % 2 } else { 2 + i % 3 }).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let draw = balanced_indices(&labels, 250, &mut rng);
    let mut counts = [0; 5];
    draw.iter().for_each(|&i| counts[labels[i] as usize] += 1);
    assert_eq!(counts, [50; 5]);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let small = balanced_indices(&labels, 100, &mut rng);
    assert_eq!(&draw[..100], &small[..], "smaller draws are prefixes of larger ones");
    assert_eq!(draw.iter().collect::<std::collections::HashSet<_>>().len(), 250);
}

#[test]
fn label_noise_flips_exactly_round_pn_labels_to_other_classes() {
    let clean: Vec<u32> = (0..1000u32).map(|i| i % 10).collect();
    let mut noisy = clean.clone();
    let flipped = flip_labels(&mut noisy, 200, 10, 3);
    assert_eq!(flipped.len(), 200);
    assert!(flipped.windows(2).all(|w| w[0] < w[1]), "recorded ascending, no repeats");
    for i in 0..1000 {
        assert_eq!(noisy[i] != clean[i], flipped.binary_search(&i).is_ok(), "exactly the recorded labels differ");
    }
    // Each other class is about equally likely: 200 flips over 9 targets.
    let mut shifts = [0; 10];
    flipped.iter().for_each(|&i| shifts[((noisy[i] + 10 - clean[i]) % 10) as usize] += 1);
    assert_eq!(shifts[0], 0);
    assert!(shifts[1..].iter().all(|&c| (8..=40).contains(&c)), "{shifts:?}");
    let mut again = clean.clone();
    assert_eq!(flip_labels(&mut again, 200, 10, 3), flipped, "fixed by the data seed");
    assert_eq!(again, noisy);
}

#[test]
fn prepare_keeps_test_labels_clean_and_standardises_with_training_statistics() {
    let split = split(Pools { train: toy(600, 4), test: None }, Some(200), 1).unwrap();
    assert_eq!((split.train_pool.len(), split.test.len()), (400, 200));
    let condition = Condition::new(300, 0.1);
    let prepared = prepare(&split, condition, Standardize::Feature, 1).unwrap();
    assert_eq!(prepared.flipped.len(), 30);
    assert_eq!(prepared.test.y, split.test.y, "test labels are never flipped");
    for j in 0..3 {
        let col: Vec<f64> = (0..300).map(|i| prepared.train.x[i * 3 + j] as f64).collect();
        let mean = col.iter().sum::<f64>() / 300.0;
        let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 300.0;
        assert!(mean.abs() < 1e-4 && (var - 1.0).abs() < 1e-3, "feature {j}: mean {mean}, var {var}");
    }
    let mut counts = [0; 4];
    prepared.clean_train_labels.iter().for_each(|&y| counts[y as usize] += 1);
    assert_eq!(counts, [75; 4]);
}

#[test]
fn requests_larger_than_the_data_are_errors() {
    let split = split(Pools { train: toy(50, 2), test: None }, None, 0).unwrap();
    let e = prepare(&split, Condition::new(100, 0.0), Standardize::None, 0).unwrap_err().to_string();
    assert!(e.contains("n_train = 100") && e.contains("34"), "{e}");
    let e = ddlab_data::split(Pools { train: toy(50, 2), test: None }, Some(50), 0).unwrap_err().to_string();
    assert!(e.contains("n_test"), "{e}");
}

#[test]
fn synthetic_generators_are_seeded() {
    let a = teacher(200, 5, 3, 8, 1).unwrap();
    assert_eq!(a, teacher(200, 5, 3, 8, 1).unwrap());
    assert_ne!(a, teacher(200, 5, 3, 8, 2).unwrap());
    assert!(a.classes() >= 2);
    let g = gaussian_mixture(90, 4, 3, 3.0, 0).unwrap();
    assert_eq!(g.len(), 90);
    assert_eq!(g.y.iter().filter(|&&y| y == 2).count(), 30);
}

#[test]
fn noisy_fit_is_the_share_of_flipped_labels_predicted_as_given() {
    // Flipped examples 1, 3 and 4; the model predicts the given (noisy) label at 1 and 4: 2 of 3.
    let given = [false, true, true, false, true];
    assert_eq!(ddlab_data::noisy_fit(&[1, 3, 4], |i| given[i]), Some(2.0 / 3.0));
    // Example 2 is predicted as given but was not flipped: it does not count.
    assert_eq!(ddlab_data::noisy_fit(&[3], |i| given[i]), Some(0.0));
    assert_eq!(ddlab_data::noisy_fit(&[], |_| true), None, "no label noise: nothing to fit");
}
